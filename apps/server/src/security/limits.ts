/**
 * Limits of SPEC §5 in bounded memory: rate limits ("N per window", lru-cache backed, see
 * `rate-table.ts`) and exact counts of open sockets (plain maps, see `open-counters.ts`).
 * Every piece takes its clock as a parameter and uses no timer, so there is nothing to close.
 */
export {
  type Capacity,
  createCapacity,
  createOpenCounter,
  createSocketSlots,
  type OpenCounter,
  type SlotGrant,
  type SlotKeys,
  type SlotLease,
  type SlotLimit,
  type SocketSlotCounters,
  type SocketSlots,
} from './open-counters.js';
export {
  coarseRetryAfterSeconds,
  createRateTable,
  createRateTables,
  createSocketFrameRate,
  type FrameRateOutcome,
  type RateDecision,
  type RateTable,
  type RateTableOptions,
  type SocketFrameRate,
  type SocketFrameRateOptions,
} from './rate-table.js';
