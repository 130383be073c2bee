/**
 * The session half of the SQLite store: sites and their tokens, revocations, visitors with their
 * refresh families, and dialog lookup/allocation.
 */
import type Database from 'better-sqlite3';
import {
  DIALOG_COLUMNS,
  type DialogRow,
  SITE_TOKEN_COLUMNS,
  type SiteTokenRow,
  toDialog,
  toSiteToken,
} from './sqlite-rows.js';
import type {
  NewSession,
  RefreshRecord,
  Revocation,
  RevocationKind,
  SessionStore,
} from './types.js';

interface RevocationRow {
  kind: RevocationKind;
  target: string;
  revoked_at: number;
  actor: string;
  expires_at: number | null;
}

interface RefreshRow {
  family_id: string;
  visitor_id: string;
  site_id: string;
  origin: string;
  family_created_at: number;
  family_revoked_at: number | null;
  issued_at: number;
  rotated_at: number | null;
  successor_hash: Buffer | null;
}

function prepareStatements(db: Database.Database) {
  return {
    touchSite: db.prepare(
      `INSERT INTO sites (id, first_seen_at, last_seen_at) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
    ),
    recordSiteToken: db.prepare(
      `INSERT INTO site_tokens (jti, site_id, allowed_domains, assistant_id, expires_at, first_seen_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING`,
    ),
    findSiteToken: db.prepare(`SELECT ${SITE_TOKEN_COLUMNS} FROM site_tokens WHERE jti = ?`),
    addRevocation: db.prepare(
      `INSERT INTO revocations (kind, target, revoked_at, actor, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    listRevocations: db.prepare(
      `SELECT kind, target, revoked_at, actor, expires_at FROM revocations
        WHERE expires_at IS NULL OR expires_at > ?`,
    ),
    insertVisitor: db.prepare(
      'INSERT INTO visitors (id, site_id, origin, created_at) VALUES (?, ?, ?, ?)',
    ),
    insertFamily: db.prepare(
      `INSERT INTO refresh_families (id, visitor_id, site_id, origin, created_at)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    insertToken: db.prepare(
      'INSERT INTO refresh_tokens (hash, family_id, issued_at) VALUES (?, ?, ?)',
    ),
    findToken: db.prepare(
      `SELECT f.id AS family_id, f.visitor_id, f.site_id, f.origin,
              f.created_at AS family_created_at, f.revoked_at AS family_revoked_at,
              t.issued_at, t.rotated_at, t.successor_hash
         FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
        WHERE t.hash = ?`,
    ),
    rotateToken: db.prepare(
      `UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ?
        WHERE hash = ? AND rotated_at IS NULL`,
    ),
    familyOf: db.prepare('SELECT family_id FROM refresh_tokens WHERE hash = ?'),
    revokeFamily: db.prepare(
      'UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
    ),
    openDialogOf: db.prepare(
      `SELECT ${DIALOG_COLUMNS} FROM dialogs WHERE visitor_id = ? AND state = 'open'`,
    ),
    findVisitor: db.prepare('SELECT id, site_id FROM visitors WHERE id = ?'),
    findDialog: db.prepare(`SELECT ${DIALOG_COLUMNS} FROM dialogs WHERE id = ?`),
    insertDialog: db.prepare(
      'INSERT INTO dialogs (id, visitor_id, site_id, created_at) VALUES (?, ?, ?, ?)',
    ),
  };
}

function toRefresh(row: RefreshRow): RefreshRecord {
  return {
    familyId: row.family_id,
    visitorId: row.visitor_id,
    siteId: row.site_id,
    origin: row.origin,
    familyCreatedAt: row.family_created_at,
    familyRevokedAt: row.family_revoked_at,
    issuedAt: row.issued_at,
    rotatedAt: row.rotated_at,
    successorHash: row.successor_hash ? new Uint8Array(row.successor_hash) : null,
  };
}

/** The session methods over `db`; `guard` throws once the store is closed. */
export function sqliteSessionStore(db: Database.Database, guard: () => void): SessionStore {
  const statements = prepareStatements(db);

  const createSession = db.transaction((session: NewSession) => {
    const { visitorId, siteId, origin, familyId, tokenHash, dialogId, now } = session;
    statements.insertVisitor.run(visitorId, siteId, origin, now);
    statements.insertFamily.run(familyId, visitorId, siteId, origin, now);
    statements.insertToken.run(tokenHash, familyId, now);
    statements.insertDialog.run(dialogId, visitorId, siteId, now);
  });

  const rotate = db.transaction((hash: Uint8Array, successor: Uint8Array, now: number) => {
    const row = statements.familyOf.get(hash) as { family_id: string } | undefined;
    if (!row) return false;
    // The WHERE rotated_at IS NULL is the compare-and-swap: one concurrent rotation wins.
    if (statements.rotateToken.run(now, successor, hash).changes !== 1) return false;
    statements.insertToken.run(successor, row.family_id, now);
    return true;
  });

  const openDialog = db.transaction(
    (visitorId: string, siteId: string, newId: string, now: number) => {
      const existing = statements.openDialogOf.get(visitorId) as DialogRow | undefined;
      if (existing) return toDialog(existing);
      statements.insertDialog.run(newId, visitorId, siteId, now);
      return toDialog(statements.openDialogOf.get(visitorId) as DialogRow);
    },
  );

  return {
    async touchSite(siteId, now) {
      guard();
      statements.touchSite.run(siteId, now, now);
    },
    async recordSiteToken({ jti, siteId, allowedDomains, assistantId, expiresAt }, now) {
      guard();
      const domains = JSON.stringify(allowedDomains);
      statements.recordSiteToken.run(jti, siteId, domains, assistantId, expiresAt, now);
    },
    async findSiteToken(jti) {
      guard();
      const row = statements.findSiteToken.get(jti) as SiteTokenRow | undefined;
      return row ? toSiteToken(row) : null;
    },
    async addRevocation({ kind, target, revokedAt, actor, expiresAt }) {
      guard();
      const { changes } = statements.addRevocation.run(
        kind,
        target,
        revokedAt,
        actor,
        expiresAt ?? null,
      );
      return changes === 1;
    },
    async listRevocations(now) {
      guard();
      const rows = statements.listRevocations.all(
        now ?? Number.MIN_SAFE_INTEGER,
      ) as RevocationRow[];
      return rows.map((row) => ({
        kind: row.kind,
        target: row.target,
        revokedAt: row.revoked_at,
        actor: row.actor,
        ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
      })) satisfies Revocation[];
    },
    async createSession(session) {
      guard();
      createSession(session);
    },
    async findRefreshToken(hash) {
      guard();
      const row = statements.findToken.get(hash) as RefreshRow | undefined;
      return row ? toRefresh(row) : null;
    },
    async rotateRefreshToken(hash, successorHash, now) {
      guard();
      return rotate(hash, successorHash, now);
    },
    async revokeRefreshFamily(familyId, now) {
      guard();
      statements.revokeFamily.run(now, familyId);
    },
    async findVisitor(id) {
      guard();
      const row = statements.findVisitor.get(id) as { id: string; site_id: string } | undefined;
      return row ? { id: row.id, siteId: row.site_id } : null;
    },
    async findDialog(id) {
      guard();
      const row = statements.findDialog.get(id) as DialogRow | undefined;
      return row ? toDialog(row) : null;
    },
    async openDialog(visitorId, siteId, newId, now) {
      guard();
      return openDialog(visitorId, siteId, newId, now);
    },
  };
}
