/**
 * The in-memory store: plain Maps behind the same async `Store` contract as SQLite — idempotent
 * appends with gapless seqs, compare-and-set rotations and handoffs, one open dialog per visitor,
 * revocations with expiry, all-or-nothing writes. For tests, and the proof that the contract
 * does not lean on SQLite, so a networked store (PostgreSQL) can follow it. Not for production:
 * it is bounded only by what the caller puts in, scans linearly and forgets everything on exit.
 * `test/store/contract.ts` runs the same suite against both.
 */
import { memoryAdminStore } from './memory-admin.js';
import { memoryChatStore } from './memory-chat.js';
import { memorySessionStore } from './memory-sessions.js';
import { createMemoryState } from './memory-state.js';
import type { Store } from './types.js';

/** A fresh, empty memory store. */
export function createMemoryStore(): Store {
  const state = createMemoryState();
  let open = true;
  const guard = (): void => {
    if (!open) throw new Error('the store is closed');
  };
  return {
    ...memorySessionStore(state, guard),
    ...memoryChatStore(state, guard),
    ...memoryAdminStore(state, guard),
    healthy: () => open,
    async close() {
      open = false;
    },
  };
}
