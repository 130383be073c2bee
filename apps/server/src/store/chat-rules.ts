/**
 * Rules every store implementation applies to chat input before touching data, so a caller bug
 * is refused the same way by SQLite (whose CHECK constraints are the backstop) and by the memory
 * store, and a refused batch commits nothing.
 */
import type { AppendInput, HandoffChange, MessageSender, SystemMessage } from './types.js';

const SENDERS: ReadonlySet<MessageSender> = new Set(['visitor', 'assistant', 'operator', 'system']);
const HANDOFF_STATES: ReadonlySet<string> = new Set([
  'assistant',
  'requested',
  'operator',
  'closed',
]);

/** A visitor or an operator has an identity; the assistant and the system have none. */
export function hasIdentity(sender: MessageSender): boolean {
  return sender === 'visitor' || sender === 'operator';
}

/** Refuses a message that breaks the sender rules of `AppendInput`. */
export function checkAppendInput(input: AppendInput): void {
  if (!SENDERS.has(input.sender)) throw new TypeError(`unknown sender ${String(input.sender)}`);
  if (hasIdentity(input.sender) !== (input.senderId !== null)) {
    throw new TypeError(
      `a ${input.sender} message ${hasIdentity(input.sender) ? 'needs' : 'has'} no senderId`,
    );
  }
  if (input.clientMsgId !== null && input.senderId === null) {
    throw new TypeError('a clientMsgId needs a sender identity to be idempotent');
  }
  if (!Number.isSafeInteger(input.ts)) throw new TypeError('ts must be an integer');
}

/** Refuses a handoff change whose holder does not fit its target state. */
export function checkHandoffChange(change: HandoffChange): void {
  if (!HANDOFF_STATES.has(change.to)) throw new TypeError(`unknown handoff state ${change.to}`);
  if ((change.to === 'operator') !== (change.holder !== null)) {
    throw new TypeError('a holder is required for the operator state and only for it');
  }
}

/** Refuses a page or list limit that is not an integer ≥ 0. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new RangeError('limit must be an integer ≥ 0');
}

/** Refuses a seq bound that is given but not an integer ≥ 0. */
export function checkSeqBound(bound: number | undefined): void {
  if (bound !== undefined && (!Number.isSafeInteger(bound) || bound < 0)) {
    throw new RangeError('a seq bound must be an integer ≥ 0');
  }
}

/** The message stored with a handoff change or an idle close. */
export function systemInput(dialogId: string, system: SystemMessage): AppendInput {
  const { id, text, ts } = system;
  return { dialogId, id, clientMsgId: null, sender: 'system', senderId: null, text, ts };
}
