/** The administration half of the memory store (see memory.ts). */
import { clientMsgKey, type MemoryState } from './memory-state.js';
import type { AdminStore, DialogRecord, SiteSummary, VisitorData } from './types.js';

/** Ids are opaque ASCII, where this order is SQLite's BINARY collation. */
const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byCreation = (a: { createdAt: number; id: string }, b: { createdAt: number; id: string }) =>
  a.createdAt - b.createdAt || compareIds(a.id, b.id);

/** The administration methods over `state`; `guard` throws once the store is closed. */
export function memoryAdminStore(state: MemoryState, guard: () => void): AdminStore {
  const dialogsOf = (visitorId: string): DialogRecord[] =>
    [...state.dialogs.values()].filter((d) => d.visitorId === visitorId).sort(byCreation);

  const familiesOf = (visitorId: string) =>
    [...state.families.values()].filter((f) => f.visitorId === visitorId).sort(byCreation);

  return {
    async listSites() {
      guard();
      const tokens = [...state.siteTokens.values()].sort((a, b) => compareIds(a.jti, b.jti));
      const ids = new Set([...state.sites.keys(), ...tokens.map((token) => token.siteId)]);
      return [...ids].sort(compareIds).map((id): SiteSummary => {
        const site = state.sites.get(id);
        return {
          id,
          firstSeenAt: site?.firstSeenAt ?? null,
          lastSeenAt: site?.lastSeenAt ?? null,
          tokens: tokens
            .filter((token) => token.siteId === id)
            .map((token) => ({ ...token, allowedDomains: [...token.allowedDomains] })),
        };
      });
    },
    async exportVisitor(visitorId) {
      guard();
      const visitor = state.visitors.get(visitorId);
      if (!visitor) return null;
      const dialogs = dialogsOf(visitorId);
      return {
        visitor: { ...visitor },
        families: familiesOf(visitorId).map(({ id, origin, createdAt, revokedAt }) => ({
          id,
          origin,
          createdAt,
          revokedAt,
        })),
        dialogs,
        messages: dialogs.flatMap((d) => state.messages.get(d.id) ?? []),
      } satisfies VisitorData;
    },
    async eraseVisitor(visitorId) {
      guard();
      if (!state.visitors.has(visitorId)) return null;
      const dialogs = dialogsOf(visitorId);
      const families = familiesOf(visitorId);
      let messages = 0;
      // Every index goes too, as the SQLite cascade would: no id or idempotency key survives.
      for (const dialog of dialogs) {
        for (const message of state.messages.get(dialog.id) ?? []) {
          state.messageIds.delete(message.id);
          if (message.clientMsgId !== null) state.byClientMsg.delete(clientMsgKey(message));
          messages += 1;
        }
        state.messages.delete(dialog.id);
        state.dialogs.delete(dialog.id);
      }
      state.openDialogOf.delete(visitorId);
      for (const family of families) {
        state.families.delete(family.id);
        for (const [hash, token] of state.tokens) {
          if (token.familyId === family.id) state.tokens.delete(hash);
        }
      }
      state.visitors.delete(visitorId);
      return { dialogs: dialogs.length, messages, families: families.length };
    },
  };
}
