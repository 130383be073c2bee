/**
 * The `Store` contract: one suite every implementation passes (SQLite in memory and on disk,
 * the memory store, and any later networked store). Each test gets a fresh, empty store.
 */
import { afterEach, beforeEach, describe } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { describeAdminContract } from './contract-admin.js';
import { describeHousekeepingContract } from './contract-housekeeping.js';
import { describeLifecycleContract } from './contract-lifecycle.js';
import { describeMessageContract } from './contract-messages.js';
import { describeSessionContract } from './contract-sessions.js';

/** Runs the whole contract against stores made by `open`, one per test. */
export function describeStoreContract(name: string, open: () => Promise<Store> | Store): void {
  describe(`${name} store contract`, () => {
    let current: Store | undefined;
    const store = (): Store => {
      if (!current) throw new Error('no store open');
      return current;
    };
    beforeEach(async () => {
      current = await open();
    });
    afterEach(async () => {
      await current?.close();
      current = undefined;
    });

    describeSessionContract(store);
    describeMessageContract(store);
    describeLifecycleContract(store);
    describeHousekeepingContract(store);
    describeAdminContract(store);
  });
}
