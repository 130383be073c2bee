/**
 * History pages and the operators' dialog list (SPEC §3 "History page", "Dialog lifecycle"):
 * `GET /v1/widget/dialogs/:id/messages` (visitor token, the token's origin), `GET
 * /v1/app/dialogs/:id/messages` and `GET /v1/app/dialogs` (operator token, the app origin).
 * Paging, exact item shape, query validation, and "not yours" answered exactly like "missing".
 * One server over real HTTP, with dialogs filled through real sockets on a hand-moved clock.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestClock } from '../http/api-client.js';
import {
  appDialogs,
  appHistory,
  frameMatching,
  type JsonAnswer,
  messagesOf,
  readyOperator,
  sendMessages,
  widgetHistory,
  withoutType,
} from '../support/dialog-traffic.js';
import { APP, type Harness, SHOP, startHarness } from '../support/harness.js';
import {
  closeOpened,
  type Frame,
  newVisitor,
  readyVisitor,
  SHARED_SERVER_ENV,
  type VisitorSession,
} from '../support/ws-client.js';

const TOTAL = 120;
const HISTORY_SITE = 'site_history';

const clock = createTestClock();
let h: Harness;
/** The visitor whose dialog holds TOTAL messages, and those messages as its socket saw them. */
let owner: VisitorSession;
let sent: Frame[];
/** Another visitor of the same site, with a dialog of its own. */
let stranger: VisitorSession;

beforeAll(async () => {
  h = await startHarness({
    env: {
      ...SHARED_SERVER_ENV,
      POSTERN_ASSISTANT: 'none',
      POSTERN_VISITOR_MSG_RATE: '100000',
      POSTERN_MSG_RATE: '100000',
      POSTERN_LIMITER_MAX_KEYS: '1000',
    },
    now: clock.now,
  });
  const site = await h.siteToken({ siteId: HISTORY_SITE });
  owner = await newVisitor(h, site);
  const { socket } = await readyVisitor(h, owner.visitorToken);
  sent = await sendMessages(socket, owner.dialogId, TOTAL);
  stranger = await newVisitor(h, site);
  const other = await readyVisitor(h, stranger.visitorToken);
  await sendMessages(other.socket, stranger.dialogId, 1);
  await closeOpened(h);
});
afterAll(() => h?.close());

/** The `sent` messages with seq in `from..to` (1-based, inclusive), as history items. */
function items(from: number, to: number): Frame[] {
  return sent.slice(from - 1, to).map(withoutType);
}

function expectPage(res: JsonAnswer, messages: Frame[], next: number | null): void {
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ messages, next_after_seq: next });
}

function expectError(res: JsonAnswer, status: number, code: string): void {
  expect({ status: res.status, text: res.text }).toEqual({
    status,
    text: JSON.stringify({ error: code }),
  });
}

const BAD_QUERIES = [
  'limit=0',
  'limit=101',
  'limit=abc',
  'limit=-1',
  'limit=1.5',
  'limit=',
  'after_seq=-1',
  'before_seq=-3',
  'after_seq=x',
  'after_seq=1&before_seq=5',
  'after_seq=1&after_seq=2',
  'limit=5&limit=6',
  'foo=1',
  'limit=5&since=3',
];

describe('widget history', () => {
  const page = (query = '') => widgetHistory(h, owner.visitorToken, owner.dialogId, query);

  it('serves the latest 50 by default, each item exactly a message frame without its type', async () => {
    expect(sent.map((f) => f['seq'])).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expectPage(await page(), items(TOTAL - 49, TOTAL), null);
  });

  it('pages ascending after after_seq, with next_after_seq while newer messages exist', async () => {
    expectPage(await page('after_seq=10&limit=5'), items(11, 15), 15);
    expectPage(await page('after_seq=0&limit=100'), items(1, 100), 100);
    expectPage(await page('after_seq=100'), items(101, TOTAL), null);
    expectPage(await page(`after_seq=${TOTAL - 1}&limit=1`), items(TOTAL, TOTAL), null);
    expectPage(await page(`after_seq=${TOTAL}`), [], null);
    expectPage(await page(`after_seq=${TOTAL + 50}`), [], null);
  });

  it('pages back with before_seq: the page ending right before it', async () => {
    expectPage(await page('before_seq=11'), items(1, 10), 10);
    expectPage(await page('before_seq=61&limit=100'), items(1, 60), 60);
    expectPage(await page('before_seq=100&limit=3'), items(97, 99), 99);
    expectPage(await page(`before_seq=${TOTAL + 1}&limit=3`), items(TOTAL - 2, TOTAL), null);
    // Nothing lies before seq 1, but everything lies after it: the client continues from 0.
    expectPage(await page('before_seq=1'), [], 0);
  });

  it('accepts limit 1 and 100, the bounds', async () => {
    expectPage(await page('limit=1'), items(TOTAL, TOTAL), null);
    expectPage(await page('limit=100'), items(TOTAL - 99, TOTAL), null);
  });

  it.each(BAD_QUERIES)('refuses ?%s with 400 invalid_query', async (query) => {
    expectError(await page(query), 400, 'invalid_query');
  });

  it('answers another visitor’s dialog exactly like a missing one: 404 not_found', async () => {
    const theirs = await widgetHistory(h, owner.visitorToken, stranger.dialogId);
    const missing = await widgetHistory(h, owner.visitorToken, 'dlg_missing_0123456789abcdef');
    expectError(theirs, 404, 'not_found');
    expectError(missing, 404, 'not_found');
    // And the other way round: the stranger cannot read the owner's dialog either.
    expectError(await widgetHistory(h, stranger.visitorToken, owner.dialogId), 404, 'not_found');
  });

  it('needs the token’s own origin', async () => {
    const elsewhere = 'http://evil.example';
    expectError(
      await widgetHistory(h, owner.visitorToken, owner.dialogId, '', elsewhere),
      403,
      'origin_not_allowed',
    );
    // Another origin the site allows is still not the one the token was minted for.
    const sub = 'http://www.shop.example:8080';
    expectError(
      await widgetHistory(h, owner.visitorToken, owner.dialogId, '', sub),
      403,
      'origin_not_allowed',
    );
    expectError(
      await widgetHistory(h, owner.visitorToken, owner.dialogId, '', null),
      403,
      'origin_not_allowed',
    );
  });

  it('needs a visitor token', async () => {
    const operator = await h.operatorToken();
    expectError(await widgetHistory(h, operator, owner.dialogId), 401, 'unauthorized');
    expectError(await widgetHistory(h, 'garbage', owner.dialogId), 401, 'unauthorized');
  });
});

describe('app history', () => {
  it('serves a dialog in the operator’s sites, system and operator messages included', async () => {
    const site = await h.siteToken({ siteId: 'site_app_history' });
    const visitor = await newVisitor(h, site);
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    await sendMessages(socket, visitor.dialogId, 2);
    const token = await h.operatorToken({ operatorId: 'op_history', sites: ['site_app_history'] });
    const operator = await readyOperator(h, token);
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' });
    operator.send({
      type: 'send',
      dialog_id: visitor.dialogId,
      client_msg_id: randomUUID(),
      text: 'How can I help?',
    });
    await frameMatching(socket, (f) => f['seq'] === 4, 'the operator message');
    const seen = messagesOf(socket);
    expect(seen.map((f) => f['sender'])).toEqual(['visitor', 'visitor', 'system', 'operator']);

    const res = await appHistory(h, token, visitor.dialogId);
    expectPage(res, seen.map(withoutType), null);
    // A system message has no client_msg_id; the item has no such key either (not even null).
    expect(Object.keys((res.body['messages'] as Frame[])[2] as Frame).sort()).toEqual(
      ['dialog_id', 'id', 'sender', 'seq', 'text', 'ts'].sort(),
    );
    expectPage(
      await appHistory(h, token, visitor.dialogId, 'after_seq=1&limit=2'),
      [withoutType(seen[1] as Frame), withoutType(seen[2] as Frame)],
      3,
    );
    await closeOpened(h);
  });

  it('pages like the widget history', async () => {
    const token = await h.operatorToken({ sites: [HISTORY_SITE] });
    expectPage(await appHistory(h, token, owner.dialogId), items(TOTAL - 49, TOTAL), null);
    expectPage(
      await appHistory(h, token, owner.dialogId, 'before_seq=51&limit=2'),
      items(49, 50),
      50,
    );
    expectPage(
      await appHistory(h, token, owner.dialogId, 'after_seq=118'),
      items(119, TOTAL),
      null,
    );
  });

  it.each(BAD_QUERIES)('refuses ?%s with 400 invalid_query', async (query) => {
    const token = await h.operatorToken({ sites: [HISTORY_SITE] });
    expectError(await appHistory(h, token, owner.dialogId, query), 400, 'invalid_query');
  });

  it('answers a dialog outside the operator’s sites exactly like a missing one', async () => {
    const token = await h.operatorToken({ sites: ['site_elsewhere'] });
    const outside = await appHistory(h, token, owner.dialogId);
    const missing = await appHistory(h, token, 'dlg_missing_0123456789abcdef');
    expectError(outside, 404, 'not_found');
    expectError(missing, 404, 'not_found');
    expect(outside.text).toBe(missing.text);
  });

  it('needs an operator token from the app origin', async () => {
    expectError(await appHistory(h, owner.visitorToken, owner.dialogId), 401, 'unauthorized');
    const token = await h.operatorToken();
    const fromShop = await appHistory(h, token, owner.dialogId, '', SHOP);
    expect(fromShop.status).toBe(403);
    expect(fromShop.body['messages']).toBeUndefined();
    expect((await appHistory(h, token, owner.dialogId, '', APP)).status).toBe(200);
  });
});

describe('app dialog list', () => {
  const SITE_A = 'site_list_a';
  const SITE_B = 'site_list_b';

  /** A visitor on `siteId` whose dialog got `count` messages at the current clock. */
  async function dialogWith(siteId: string, count: number) {
    const visitor = await newVisitor(h, await h.siteToken({ siteId }));
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    const messages = count > 0 ? await sendMessages(socket, visitor.dialogId, count) : [];
    return { visitor, socket, messages };
  }

  it('lists open dialogs with messages in scope, latest activity first, limit + truncated', async () => {
    const older = await dialogWith(SITE_A, 1);
    clock.advance(1000);
    const newer = await dialogWith(SITE_A, 1);
    clock.advance(1000);
    const empty = await dialogWith(SITE_A, 0);
    const closed = await dialogWith(SITE_A, 1);
    const closer = await readyOperator(h, await h.operatorToken({ operatorId: 'op_list' }));
    closer.send({ type: 'handoff', dialog_id: closed.visitor.dialogId, action: 'take' });
    closer.send({ type: 'handoff', dialog_id: closed.visitor.dialogId, action: 'close' });
    await frameMatching(
      closed.socket,
      (f) => f['type'] === 'handoff' && f['state'] === 'closed',
      'the close',
    );
    clock.advance(1000);
    const otherSite = await dialogWith(SITE_B, 1);
    clock.advance(1000);
    // The older dialog speaks again: activity, not creation, orders the list.
    const [latest] = await sendMessages(older.socket, older.visitor.dialogId, 1, 'again');

    const tokenA = await h.operatorToken({ sites: [SITE_A] });
    const listA = await appDialogs(h, tokenA);
    expect(listA.status).toBe(200);
    expect(listA.body).toEqual({
      dialogs: [
        {
          dialog_id: older.visitor.dialogId,
          site_id: SITE_A,
          state: 'open',
          handoff: { state: 'assistant' },
          last_seq: 2,
          last_message_at: latest?.['ts'],
          created_at: expect.any(Number),
        },
        {
          dialog_id: newer.visitor.dialogId,
          site_id: SITE_A,
          state: 'open',
          handoff: { state: 'assistant' },
          last_seq: 1,
          last_message_at: newer.messages[0]?.['ts'],
          created_at: expect.any(Number),
        },
      ],
      truncated: false,
    });
    // No text in a list, and none of the empty, closed or other-site dialogs.
    expect(listA.text).not.toContain('message 1');
    for (const hidden of [empty, closed, otherSite]) {
      expect(listA.text).not.toContain(hidden.visitor.dialogId);
    }

    const both = await h.operatorToken({ sites: [SITE_A, SITE_B] });
    const ids = (res: JsonAnswer) =>
      (res.body['dialogs'] as Frame[]).map((dialog) => dialog['dialog_id']);
    expect(ids(await appDialogs(h, both))).toEqual([
      older.visitor.dialogId,
      otherSite.visitor.dialogId,
      newer.visitor.dialogId,
    ]);
    const first = await appDialogs(h, both, 'limit=1');
    expect(ids(first)).toEqual([older.visitor.dialogId]);
    expect(first.body['truncated']).toBe(true);
    const all = await appDialogs(h, both, 'limit=3');
    expect(all.body['truncated']).toBe(false);
    const nothing = await appDialogs(h, await h.operatorToken({ sites: ['site_nobody'] }));
    expect(nothing.body).toEqual({ dialogs: [], truncated: false });
    await closeOpened(h);
  });

  it.each(['limit=0', 'limit=501', 'limit=abc', 'limit=-1', 'after_seq=1'])(
    'refuses ?%s with 400 invalid_query',
    async (query) => {
      expectError(await appDialogs(h, await h.operatorToken(), query), 400, 'invalid_query');
    },
  );
});
