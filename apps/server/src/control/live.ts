/**
 * The control channel of a running server: CLI requests performed with the server's own
 * revocations, so a revocation closes the sockets it covers at once and is audited like one made
 * by an admin over HTTP.
 */
import type { Logger } from '../log.js';
import type { Revocations } from '../security/revocations.js';
import type { SqliteStore } from '../store/sqlite.js';
import { createAdminOperations, performControlRequest } from './operations.js';
import { controlSocketPath } from './protocol.js';
import { type ControlChannel, openControlChannel } from './server.js';

export interface LiveControlDeps {
  /** `POSTERN_DB`; `:memory:` has no control channel (no other process can share it). */
  readonly db: string;
  readonly store: SqliteStore;
  readonly revocations: Revocations;
  readonly log: Logger;
  readonly now?: () => number;
}

/**
 * Opens the control socket beside the database. Resolves `null` when there is none: for
 * `:memory:`, or when it cannot be opened (logged; the server runs on, and the CLI says that it
 * cannot reach it).
 */
export async function startControlChannel(deps: LiveControlDeps): Promise<ControlChannel | null> {
  const { store, revocations, log } = deps;
  const now = deps.now ?? Date.now;
  const path = controlSocketPath(deps.db);
  if (path === null) return null;
  const operations = createAdminOperations({
    store,
    // server.ts audits every revocation where they all pass, and closes the sockets it covers.
    revoke: (kind, target, actor) => revocations.revoke(kind, target, actor, now()),
    now,
    audit: (event, fields) => log.info(event, fields),
  });
  try {
    const channel = await openControlChannel({
      path,
      handle: (request) => performControlRequest(operations, request),
      onRequest: (op, reply) =>
        log.info('control_request', {
          op,
          ok: reply.ok,
          ...(reply.ok ? {} : { error: reply.error }),
        }),
    });
    log.info('control_listening', { path });
    return channel;
  } catch (error) {
    log.warn('control_unavailable', { reason: (error as Error).message });
    return null;
  }
}
