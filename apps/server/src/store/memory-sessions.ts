/** The session half of the memory store (see memory.ts). */
import {
  type FamilyEntry,
  hashKey,
  type MemoryState,
  type TokenEntry,
  violated,
} from './memory-state.js';
import type { DialogRecord, RefreshRecord, Revocation, SessionStore } from './types.js';

/** A new open dialog, as the SQLite defaults would make it. */
export function newDialog(id: string, visitorId: string, siteId: string, now: number) {
  return Object.freeze({
    id,
    visitorId,
    siteId,
    state: 'open',
    createdAt: now,
    lastSeq: 0,
    lastMessageAt: null,
    handoff: 'assistant',
    holder: null,
  } satisfies DialogRecord);
}

function toRefresh(token: TokenEntry, family: FamilyEntry): RefreshRecord {
  return {
    familyId: family.id,
    visitorId: family.visitorId,
    siteId: family.siteId,
    origin: family.origin,
    familyCreatedAt: family.createdAt,
    familyRevokedAt: family.revokedAt,
    issuedAt: token.issuedAt,
    rotatedAt: token.rotatedAt,
    successorHash: token.successorHash ? new Uint8Array(token.successorHash) : null,
  };
}

/** The session methods over `state`; `guard` throws once the store is closed. */
export function memorySessionStore(state: MemoryState, guard: () => void): SessionStore {
  const insertDialog = (id: string, visitorId: string, siteId: string, now: number) => {
    if (state.dialogs.has(id)) violated('dialogs.id');
    if (!state.visitors.has(visitorId)) violated('dialogs.visitor_id references visitors');
    if (state.openDialogOf.has(visitorId)) violated('dialogs_one_open');
    const dialog = newDialog(id, visitorId, siteId, now);
    state.dialogs.set(id, dialog);
    state.openDialogOf.set(visitorId, id);
    state.messages.set(id, []);
    return dialog;
  };

  return {
    async touchSite(siteId, now) {
      guard();
      const site = state.sites.get(siteId);
      if (site) site.lastSeenAt = now;
      else state.sites.set(siteId, { firstSeenAt: now, lastSeenAt: now });
    },
    async recordSiteToken(token) {
      guard();
      if (state.siteTokens.has(token.jti)) return;
      const allowedDomains = Object.freeze([...token.allowedDomains]);
      state.siteTokens.set(token.jti, Object.freeze({ ...token, allowedDomains }));
    },
    async findSiteToken(jti) {
      guard();
      const token = state.siteTokens.get(jti);
      return token ? { ...token, allowedDomains: [...token.allowedDomains] } : null;
    },
    async addRevocation({ kind, target, revokedAt, actor, expiresAt }) {
      guard();
      const key = JSON.stringify([kind, target]);
      if (state.revocations.has(key)) return false;
      const revocation: Revocation = { kind, target, revokedAt, actor };
      state.revocations.set(
        key,
        Object.freeze(expiresAt === undefined ? revocation : { ...revocation, expiresAt }),
      );
      return true;
    },
    async listRevocations(now) {
      guard();
      const all = [...state.revocations.values()];
      if (now === undefined) return all;
      return all.filter((r) => r.expiresAt === undefined || r.expiresAt > now);
    },
    async createSession({ visitorId, siteId, origin, familyId, tokenHash, dialogId, now }) {
      guard();
      // Every check before any write: the session is created whole or not at all.
      if (state.visitors.has(visitorId)) violated('visitors.id');
      if (state.families.has(familyId)) violated('refresh_families.id');
      if (state.tokens.has(hashKey(tokenHash))) violated('refresh_tokens.hash');
      if (state.dialogs.has(dialogId)) violated('dialogs.id');
      state.visitors.set(
        visitorId,
        Object.freeze({ id: visitorId, siteId, origin, createdAt: now }),
      );
      state.families.set(familyId, {
        id: familyId,
        visitorId,
        siteId,
        origin,
        createdAt: now,
        revokedAt: null,
      });
      state.tokens.set(hashKey(tokenHash), {
        familyId,
        issuedAt: now,
        rotatedAt: null,
        successorHash: null,
      });
      insertDialog(dialogId, visitorId, siteId, now);
    },
    async findRefreshToken(hash) {
      guard();
      const token = state.tokens.get(hashKey(hash));
      const family = token && state.families.get(token.familyId);
      return token && family ? toRefresh(token, family) : null;
    },
    async rotateRefreshToken(hash, successorHash, now) {
      guard();
      const token = state.tokens.get(hashKey(hash));
      // The compare-and-swap: only a current token rotates, so one concurrent rotation wins.
      if (!token || token.rotatedAt !== null) return false;
      if (state.tokens.has(hashKey(successorHash))) violated('refresh_tokens.hash');
      token.rotatedAt = now;
      token.successorHash = new Uint8Array(successorHash);
      state.tokens.set(hashKey(successorHash), {
        familyId: token.familyId,
        issuedAt: now,
        rotatedAt: null,
        successorHash: null,
      });
      return true;
    },
    async revokeRefreshFamily(familyId, now) {
      guard();
      const family = state.families.get(familyId);
      if (family && family.revokedAt === null) family.revokedAt = now;
    },
    async findVisitor(id) {
      guard();
      const visitor = state.visitors.get(id);
      return visitor ? { id: visitor.id, siteId: visitor.siteId } : null;
    },
    async findDialog(id) {
      guard();
      return state.dialogs.get(id) ?? null;
    },
    async openDialog(visitorId, siteId, newId, now) {
      guard();
      const openId = state.openDialogOf.get(visitorId);
      const open = openId === undefined ? undefined : state.dialogs.get(openId);
      return open ?? insertDialog(newId, visitorId, siteId, now);
    },
  };
}
