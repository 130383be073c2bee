/**
 * What the CLI asks of a database, whoever performs it: a running server (over the control
 * socket, where a revocation also closes live sockets) or the CLI itself on the database file
 * when no server runs. One implementation for both, so the two paths cannot drift apart.
 */
import type { SqliteStore } from '../store/sqlite.js';
import type {
  ErasureCounts,
  RevocationKind,
  SiteTokenRecord,
  VisitorData,
} from '../store/types.js';
import type { ControlReply, ControlRequest } from './protocol.js';

/** The actor of every revocation and erasure made through the CLI (the audit lines say so). */
export const CLI_ACTOR = 'cli';

export interface SiteTokenReport extends SiteTokenRecord {
  readonly revoked: boolean;
}

/** A site of `postern site list`. */
export interface SiteReport {
  readonly id: string;
  readonly firstSeenAt: number | null;
  readonly lastSeenAt: number | null;
  readonly revoked: boolean;
  readonly tokens: readonly SiteTokenReport[];
}

/** What each control request resolves with. */
export interface ControlResults {
  readonly ping: { readonly pid: number };
  readonly revoke: { readonly added: boolean };
  readonly record_site_token: null;
  readonly list_sites: SiteReport[];
  readonly export_visitor: VisitorData | null;
  readonly erase_visitor: ErasureCounts | null;
  readonly backup: null;
}

export interface AdminOperations {
  /** Resolves `false` when the same revocation already existed (it stands either way). */
  revoke(kind: RevocationKind, target: string): Promise<boolean>;
  recordSiteToken(token: SiteTokenRecord): Promise<void>;
  listSites(): Promise<SiteReport[]>;
  exportVisitor(visitorId: string): Promise<VisitorData | null>;
  /** Revokes the visitor, then deletes its data; `null` (nothing revoked) when unknown. */
  eraseVisitor(visitorId: string): Promise<ErasureCounts | null>;
  backup(path: string): Promise<void>;
}

export interface AdminOperationsDeps {
  readonly store: Pick<
    SqliteStore,
    | 'listSites'
    | 'listRevocations'
    | 'recordSiteToken'
    | 'findVisitor'
    | 'exportVisitor'
    | 'eraseVisitor'
    | 'backup'
  >;
  /** Persists a revocation (and, in a server, closes the sockets it covers and audits it). */
  readonly revoke: (kind: RevocationKind, target: string, actor: string) => Promise<boolean>;
  readonly now: () => number;
  /** Writes one audit line. */
  readonly audit: (event: string, fields: Readonly<Record<string, unknown>>) => void;
}

export function createAdminOperations(deps: AdminOperationsDeps): AdminOperations {
  const { store, now } = deps;
  return {
    revoke: (kind, target) => deps.revoke(kind, target, CLI_ACTOR),
    recordSiteToken: (token) => store.recordSiteToken(token, now()),
    async listSites() {
      const inForce = new Set(
        (await store.listRevocations(now())).map((r) => `${r.kind}:${r.target}`),
      );
      return (await store.listSites()).map((site) => ({
        id: site.id,
        firstSeenAt: site.firstSeenAt,
        lastSeenAt: site.lastSeenAt,
        revoked: inForce.has(`site:${site.id}`),
        tokens: site.tokens.map((token) => ({
          ...token,
          revoked: inForce.has(`jti:${token.jti}`),
        })),
      }));
    },
    exportVisitor: (visitorId) => store.exportVisitor(visitorId),
    async eraseVisitor(visitorId) {
      if ((await store.findVisitor(visitorId)) === null) return null;
      // Revoked first: its live sockets close and its tokens stop working before the data goes,
      // so nothing can write to a dialog that is being deleted.
      await deps.revoke('visitor', visitorId, CLI_ACTOR);
      const counts = await store.eraseVisitor(visitorId);
      deps.audit('audit_erasure', {
        actor: CLI_ACTOR,
        target_kind: 'visitor',
        target_id: visitorId,
        ...(counts ?? { dialogs: 0, messages: 0, families: 0 }),
      });
      return counts;
    },
    backup: (path) => store.backup(path),
  };
}

/** Performs one control request; failures become replies, never exceptions. */
export async function performControlRequest(
  operations: AdminOperations,
  request: ControlRequest,
): Promise<ControlReply> {
  const ok = <K extends keyof ControlResults>(_op: K, result: ControlResults[K]): ControlReply => ({
    ok: true,
    result,
  });
  try {
    switch (request.op) {
      case 'ping':
        return ok(request.op, { pid: process.pid });
      case 'revoke':
        return ok(request.op, { added: await operations.revoke(request.kind, request.target) });
      case 'record_site_token':
        await operations.recordSiteToken(request.token);
        return ok(request.op, null);
      case 'list_sites':
        return ok(request.op, await operations.listSites());
      case 'export_visitor':
        return ok(request.op, await operations.exportVisitor(request.visitorId));
      case 'erase_visitor':
        return ok(request.op, await operations.eraseVisitor(request.visitorId));
      case 'backup':
        await operations.backup(request.path);
        return ok(request.op, null);
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EEXIST') return { ok: false, error: 'exists', message: 'the file exists' };
    return { ok: false, error: 'failed', message: (error as Error).message };
  }
}
