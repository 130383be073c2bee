/** The plain data behind the memory store, shared by its two halves. */
import type { DialogRecord, MessageRecord, Revocation, SiteTokenRecord } from './types.js';

export interface VisitorEntry {
  readonly id: string;
  readonly siteId: string;
  readonly origin: string;
  readonly createdAt: number;
}

export interface FamilyEntry {
  readonly id: string;
  readonly visitorId: string;
  readonly siteId: string;
  readonly origin: string;
  readonly createdAt: number;
  revokedAt: number | null;
}

export interface TokenEntry {
  readonly familyId: string;
  readonly issuedAt: number;
  rotatedAt: number | null;
  successorHash: Uint8Array | null;
}

export interface MemoryState {
  readonly sites: Map<string, { readonly firstSeenAt: number; lastSeenAt: number }>;
  readonly siteTokens: Map<string, SiteTokenRecord>;
  /** By `JSON.stringify([kind, target])`. */
  readonly revocations: Map<string, Revocation>;
  readonly visitors: Map<string, VisitorEntry>;
  readonly families: Map<string, FamilyEntry>;
  /** By the hex of the token hash. */
  readonly tokens: Map<string, TokenEntry>;
  /** Frozen records, replaced on every change. */
  readonly dialogs: Map<string, DialogRecord>;
  /** Visitor id → its open dialog's id: the "one open dialog per visitor" index. */
  readonly openDialogOf: Map<string, string>;
  /** Dialog id → its messages, `seq - 1` being the index. */
  readonly messages: Map<string, MessageRecord[]>;
  readonly messageIds: Set<string>;
  /** By `clientMsgKey(…)`: the idempotency index. */
  readonly byClientMsg: Map<string, MessageRecord>;
}

export function createMemoryState(): MemoryState {
  return {
    sites: new Map(),
    siteTokens: new Map(),
    revocations: new Map(),
    visitors: new Map(),
    families: new Map(),
    tokens: new Map(),
    dialogs: new Map(),
    openDialogOf: new Map(),
    messages: new Map(),
    messageIds: new Set(),
    byClientMsg: new Map(),
  };
}

export function hashKey(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
}

export function clientMsgKey(message: {
  readonly dialogId: string;
  readonly sender: string;
  readonly senderId: string | null;
  readonly clientMsgId: string | null;
}): string {
  return JSON.stringify([message.dialogId, message.sender, message.senderId, message.clientMsgId]);
}

/** A constraint the memory store enforces where SQLite would raise a constraint error. */
export function violated(what: string): never {
  throw new Error(`constraint failed: ${what}`);
}
