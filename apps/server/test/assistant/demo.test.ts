/**
 * SPEC §4 "Assistant": the default responder. Canned, deterministic, plain-text answers that
 * always leave a way to a person.
 */
import { checkMessageText, MESSAGE_TEXT_MAX } from '@postern/protocol';
import { describe, expect, it } from 'vitest';
import {
  createDemoResponder,
  DEMO_OFFER_HUMAN,
  type DemoTopic,
  demoReply,
  demoTopic,
} from '../../src/assistant/demo.js';
import { makeRequest } from './fixtures.js';

const SAMPLES: Readonly<Record<DemoTopic, readonly string[]>> = {
  greeting: ['hi', 'Hello!', 'Hey there', 'Good morning', 'HIYA'],
  shipping: ['How long does shipping take?', 'where is my parcel', 'Delivery to Spain?'],
  returns: ['Can I return these shoes?', 'I want a refund', 'exchange for a bigger size'],
  hours: ['What are your opening hours?', 'are you open on Sunday', 'when do you close?'],
  thanks: ['thanks', 'Thank you!', 'cheers'],
  human: ['Can I talk to a person?', 'I want a human', 'get me an agent please'],
  fallback: ['What is the meaning of life?', 'this is about shopping', '🙂', '1234'],
};

describe('demo responder', () => {
  for (const [topic, texts] of Object.entries(SAMPLES) as [DemoTopic, readonly string[]][]) {
    it(`answers the ${topic} path with a valid plain-text message`, async () => {
      const responder = createDemoResponder();
      for (const text of texts) {
        expect(demoTopic(text), text).toBe(topic);
        const reply = await responder.respond(makeRequest({ text }), new AbortController().signal);
        expect(reply).toEqual(demoReply(text));
        if (reply === null) throw new Error('the demo always answers');
        const checked = checkMessageText(reply.text);
        expect(checked).toEqual({ ok: true, text: reply.text }); // valid and already trimmed
        expect(reply.text.length).toBeLessThanOrEqual(MESSAGE_TEXT_MAX);
        expect(reply.text).not.toMatch(/[<>]/); // plain text, nothing that looks like markup
      }
    });
  }

  it('lets the most specific need win when a message touches several topics', () => {
    expect(demoTopic('Hi, where is my delivery?')).toBe('shipping');
    expect(demoTopic('Thanks! Can I talk to someone about a refund?')).toBe('human');
    expect(demoTopic('hello, I need a refund')).toBe('returns');
    expect(demoTopic('thanks, are you open Saturday?')).toBe('hours');
  });

  it('matches whole words only, whatever the case and spacing', () => {
    expect(demoTopic('this')).toBe('fallback'); // not "hi"
    expect(demoTopic('shopping')).toBe('fallback'); // not "shipping"
    expect(demoTopic('REFUND')).toBe('returns');
    expect(demoTopic('opening\n\thours')).toBe('hours');
  });

  it('offers a person clearly on the greeting, the topic answers and the fallback', () => {
    for (const text of ['hi', 'shipping', 'refund', 'opening hours', 'what?']) {
      expect(demoReply(text).text).toContain(DEMO_OFFER_HUMAN);
    }
    expect(DEMO_OFFER_HUMAN).toBe('Ask for a person any time — I’ll bring one in.');
    expect(demoReply('what?').offerHuman).toBe(true);
  });

  it('flags a request for a person with offerHuman', () => {
    const reply = demoReply('Can I speak to a real person?');
    expect(reply.offerHuman).toBe(true);
    expect(reply.text).toMatch(/person/);
  });

  it('is deterministic: the same text always gets the same answer', async () => {
    const a = createDemoResponder();
    const b = createDemoResponder();
    const signal = new AbortController().signal;
    for (const text of Object.values(SAMPLES).flat()) {
      const first = await a.respond(makeRequest({ text }), signal);
      const second = await b.respond(makeRequest({ text, dialogId: 'other' }), signal);
      expect(second).toEqual(first);
    }
  });

  it('refuses to start a call whose signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(createDemoResponder().respond(makeRequest(), controller.signal)).rejects.toThrow(
      'gone',
    );
  });
});
