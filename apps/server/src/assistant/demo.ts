/**
 * The demo responder (`POSTERN_ASSISTANT=demo`, the default): a handful of canned answers for the
 * demo shop, so a fresh install shows the whole flow — visitor message, assistant answer, hand-off
 * to a person — with no external service. Deterministic: the same text always gets the same
 * answer (no clock, no randomness), which keeps demos and end-to-end tests reproducible.
 */
import type { AssistantReply, AssistantRequest, Responder } from './types.js';

/** The sentence every open-ended answer ends with: a person is always one request away. */
export const DEMO_OFFER_HUMAN = 'Ask for a person any time — I’ll bring one in.';

/** Which canned answer a text gets; exported for tests and for the demo page's hints. */
export type DemoTopic =
  | 'human'
  | 'returns'
  | 'shipping'
  | 'hours'
  | 'thanks'
  | 'greeting'
  | 'fallback';

interface CannedAnswer {
  readonly topic: Exclude<DemoTopic, 'fallback'>;
  readonly pattern: RegExp;
  readonly reply: AssistantReply;
}

// Checked in this order, so the most specific need wins: "hi, where is my parcel?" is about
// shipping, and "thanks, can I talk to someone?" asks for a person. Whole words only, so
// "this" is not "hi" and "shopping" is not "shipping".
const ANSWERS: readonly CannedAnswer[] = [
  {
    topic: 'human',
    pattern:
      /\b(?:human|person|people|operator|agent|someone|somebody|staff|real (?:person|human)|talk to (?:a|an|the|someone))\b/,
    reply: {
      text: 'Of course — choose “Talk to a person” and someone from the team will join this chat. You can keep writing in the meantime.',
      offerHuman: true,
    },
  },
  {
    topic: 'returns',
    pattern: /\b(?:returns?|returning|refunds?|exchanges?|send (?:it|them) back)\b/,
    reply: {
      text: `You can return anything unworn within 30 days for a full refund. Start a return from your order page; the label is free, and the refund reaches your card within 5 working days of the parcel arriving.\n\n${DEMO_OFFER_HUMAN}`,
    },
  },
  {
    topic: 'shipping',
    pattern:
      /\b(?:ship|ships|shipping|shipped|deliver|delivery|deliveries|delivered|parcel|package|tracking|track|postage|courier)\b/,
    reply: {
      text: `Orders placed before 2 pm ship the same working day. Standard delivery takes 2–4 working days and is free over 50 €; express arrives the next working day. Your tracking link is in the confirmation email.\n\n${DEMO_OFFER_HUMAN}`,
    },
  },
  {
    topic: 'hours',
    pattern:
      /\b(?:hours|opening|open|opens|close|closing|closes|closed|when are you|weekends?|saturday|sunday)\b/,
    reply: {
      text: `The shop is online around the clock. Our team answers chats Monday to Friday, 9:00–18:00, and Saturday 10:00–14:00 (CET).\n\n${DEMO_OFFER_HUMAN}`,
    },
  },
  {
    topic: 'thanks',
    pattern: /\b(?:thanks|thank you|thank u|thx|ty|cheers|much appreciated)\b/,
    reply: { text: 'You’re welcome! Is there anything else I can help with?' },
  },
  {
    topic: 'greeting',
    pattern: /\b(?:hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)|greetings)\b/,
    reply: {
      text: `Hello! I’m the demo shop’s assistant. I can help with shipping, returns and opening hours.\n\n${DEMO_OFFER_HUMAN}`,
    },
  },
];

const FALLBACK: AssistantReply = {
  text: `I’m only a demo assistant, so I may not know that one. I can answer questions about shipping, returns and opening hours.\n\n${DEMO_OFFER_HUMAN}`,
  offerHuman: true,
};

/** The topic a visitor text falls under (case-insensitive, whole words). */
export function demoTopic(text: string): DemoTopic {
  const normalised = text.toLowerCase().replace(/\s+/g, ' ');
  return ANSWERS.find((answer) => answer.pattern.test(normalised))?.topic ?? 'fallback';
}

/** The canned reply for a visitor text. */
export function demoReply(text: string): AssistantReply {
  const topic = demoTopic(text);
  return ANSWERS.find((answer) => answer.topic === topic)?.reply ?? FALLBACK;
}

/**
 * Creates the demo {@link Responder}. It answers at once, so it ignores the abort signal, except
 * that a call made with an already aborted signal rejects with the signal's reason.
 *
 * @example
 * const responder = createDemoResponder();
 * await responder.respond(request, signal); // { text: 'Hello! …', … } for "hi there"
 */
export function createDemoResponder(): Responder {
  return {
    async respond(request: AssistantRequest, signal: AbortSignal) {
      signal.throwIfAborted();
      return demoReply(request.message.text);
    },
  };
}
