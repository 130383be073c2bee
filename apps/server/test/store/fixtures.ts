/** Builders shared by the store contract suites: sessions, messages, deterministic ids. */
import { createHash } from 'node:crypto';
import type { AppendInput, HandoffChange, Store, SystemMessage } from '../../src/store/types.js';

/** An arbitrary fixed instant; tests move from here. */
export const T0 = 1_700_000_000_000;
export const MINUTE = 60_000;
export const SHOP = 'https://shop.example';

/** Deterministic ids: `prefix-1`, `prefix-2`, … */
export function idSource(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

/** A 32-byte token hash derived from `label`. */
export function tokenHash(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label).digest());
}

export interface Seeded {
  readonly visitorId: string;
  readonly siteId: string;
  readonly familyId: string;
  readonly dialogId: string;
  readonly hash: Uint8Array;
}

/** Creates a visitor `name` on `siteId` with its family, first token and first dialog. */
export async function seedVisitor(
  store: Store,
  name: string,
  options: { readonly siteId?: string; readonly now?: number } = {},
): Promise<Seeded> {
  const seeded = {
    visitorId: `visitor-${name}`,
    siteId: options.siteId ?? 'site-a',
    familyId: `family-${name}`,
    dialogId: `dialog-${name}`,
    hash: tokenHash(`token-${name}`),
  };
  await store.createSession({
    visitorId: seeded.visitorId,
    siteId: seeded.siteId,
    origin: SHOP,
    familyId: seeded.familyId,
    tokenHash: seeded.hash,
    dialogId: seeded.dialogId,
    now: options.now ?? T0,
  });
  return seeded;
}

/** A visitor message; `n` makes its id, client id and text. */
export function visitorSend(
  seeded: Pick<Seeded, 'dialogId' | 'visitorId'>,
  n: number | string,
  ts = T0,
): AppendInput {
  return {
    dialogId: seeded.dialogId,
    id: `msg-${seeded.dialogId}-${n}`,
    clientMsgId: `client-${n}`,
    sender: 'visitor',
    senderId: seeded.visitorId,
    text: `hello ${n}`,
    ts,
  };
}

/** An assistant message (no identity, no client id). */
export function assistantReply(dialogId: string, id: string, ts = T0): AppendInput {
  return { dialogId, id, clientMsgId: null, sender: 'assistant', senderId: null, text: 'hi', ts };
}

/** Appends `count` visitor messages to the seeded dialog, one batch. */
export async function fill(store: Store, seeded: Seeded, count: number, ts = T0): Promise<void> {
  const batch = Array.from({ length: count }, (_, i) => visitorSend(seeded, i + 1, ts + i));
  await store.appendMessages(batch);
}

export function systemNote(id: string, ts = T0, text = 'handoff changed'): SystemMessage {
  return { id, text, ts };
}

export const OPERATOR = { id: 'operator-ann', name: 'Ann' } as const;
export const OTHER_OPERATOR = { id: 'operator-bob', name: 'Bob' } as const;

/** The handoff changes the chat layer makes (SPEC §4 `handoff` actions). */
export const change = {
  request: { from: ['assistant'], to: 'requested', holder: null },
  take: (holder: { id: string; name: string }): HandoffChange => ({
    from: ['assistant', 'requested'],
    to: 'operator',
    holder,
  }),
  release: (holderId: string): HandoffChange => ({
    from: ['operator'],
    to: 'requested',
    holder: null,
    expectHolderId: holderId,
  }),
  close: (holderId: string): HandoffChange => ({
    from: ['operator'],
    to: 'closed',
    holder: null,
    expectHolderId: holderId,
  }),
} satisfies Record<string, HandoffChange | ((...args: never[]) => HandoffChange)>;
