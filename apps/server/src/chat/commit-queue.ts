/**
 * Group commit: `send` frames that arrive together are appended in one transaction, so the cost
 * of a durable commit (an fsync with POSTERN_DB_SYNC=full) is shared. One batch is in flight at
 * a time and results resolve in input order, so fan-out follows `seq` order.
 */
import type { AppendInput, AppendResult, Store } from '../store/types.js';

/** Largest batch per transaction: bounds the latency one batch adds to the next. */
const MAX_BATCH = 256;

interface Pending {
  readonly input: AppendInput;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

export interface CommitQueue {
  /** Appends a message; resolves once it is committed (or refused by the store). */
  submit(input: AppendInput): Promise<AppendResult>;
  /** Resolves when everything submitted so far is committed (shutdown). */
  drain(): Promise<void>;
  readonly pending: number;
}

export function createCommitQueue(store: Store): CommitQueue {
  const queue: Pending[] = [];
  let running: Promise<void> | null = null;

  async function run(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        const results = await store.appendMessages(batch.map((entry) => entry.input));
        for (const [index, entry] of batch.entries()) {
          entry.resolve(results[index] as AppendResult);
        }
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
  }

  function schedule(): void {
    if (running) return;
    // Wait one turn so frames arriving together share the transaction.
    running = new Promise<void>((resolve) => setImmediate(resolve)).then(run).finally(() => {
      running = null;
      if (queue.length > 0) schedule();
    });
  }

  return {
    submit(input) {
      return new Promise((resolve, reject) => {
        queue.push({ input, resolve, reject });
        schedule();
      });
    },
    async drain() {
      while (running) await running;
    },
    get pending() {
      return queue.length;
    },
  };
}
