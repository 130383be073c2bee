/**
 * The administration half of the SQLite store: the site inventory, and a visitor's data exported
 * or erased (what `postern site list` and `postern visitor export|erase` ask for).
 */
import type Database from 'better-sqlite3';
import {
  DIALOG_COLUMNS,
  type DialogRow,
  MESSAGE_COLUMNS,
  type MessageRow,
  SITE_TOKEN_COLUMNS,
  type SiteTokenRow,
  toDialog,
  toMessage,
  toSiteToken,
} from './sqlite-rows.js';
import type { AdminStore, SiteSummary, SiteTokenRecord, VisitorData } from './types.js';

const QUALIFIED_MESSAGE_COLUMNS = MESSAGE_COLUMNS.split(', ')
  .map((column) => `m.${column}`)
  .join(', ');

/** The statements of this half, exported for the query-plan test. */
export const ADMIN_SQL = {
  // A site recorded by the CLI but never used has tokens and no `sites` row.
  listSites: `SELECT id, first_seen_at, last_seen_at FROM sites
    UNION SELECT site_id, NULL, NULL FROM site_tokens
           WHERE site_id NOT IN (SELECT id FROM sites)
    ORDER BY id`,
  listSiteTokens: `SELECT ${SITE_TOKEN_COLUMNS} FROM site_tokens ORDER BY site_id, jti`,
  findVisitor: 'SELECT id, site_id, origin, created_at FROM visitors WHERE id = ?',
  familiesOf: `SELECT id, origin, created_at, revoked_at FROM refresh_families
    WHERE visitor_id = ? ORDER BY created_at, id`,
  dialogsOf: `SELECT ${DIALOG_COLUMNS} FROM dialogs WHERE visitor_id = ? ORDER BY created_at, id`,
  messagesOf: `SELECT ${QUALIFIED_MESSAGE_COLUMNS} FROM dialogs d
    JOIN messages m ON m.dialog_id = d.id
    WHERE d.visitor_id = ? ORDER BY d.created_at, d.id, m.seq`,
  countMessagesOf: `SELECT count(*) FROM dialogs d JOIN messages m ON m.dialog_id = d.id
    WHERE d.visitor_id = ?`,
  countDialogsOf: 'SELECT count(*) FROM dialogs WHERE visitor_id = ?',
  countFamiliesOf: 'SELECT count(*) FROM refresh_families WHERE visitor_id = ?',
  // Cascades (foreign_keys = ON) to refresh families and tokens, dialogs and their messages.
  deleteVisitor: 'DELETE FROM visitors WHERE id = ?',
} as const;

interface SiteRow {
  id: string;
  first_seen_at: number | null;
  last_seen_at: number | null;
}

interface VisitorRow {
  id: string;
  site_id: string;
  origin: string;
  created_at: number;
}

interface FamilyRow {
  id: string;
  origin: string;
  created_at: number;
  revoked_at: number | null;
}

type AdminStatements = { readonly [K in keyof typeof ADMIN_SQL]: Database.Statement };

/** The administration methods over `db`; `guard` throws once the store is closed. */
export function sqliteAdminStore(db: Database.Database, guard: () => void): AdminStore {
  const s = Object.fromEntries(
    Object.entries(ADMIN_SQL).map(([name, sql]) => [name, db.prepare(sql)]),
  ) as AdminStatements;
  const count = (statement: Database.Statement, id: string) => statement.pluck().get(id) as number;

  // One read transaction, so the export is a consistent snapshot even while chat writes go on.
  const exportVisitor = db.transaction((visitorId: string): VisitorData | null => {
    const visitor = s.findVisitor.get(visitorId) as VisitorRow | undefined;
    if (!visitor) return null;
    return {
      visitor: {
        id: visitor.id,
        siteId: visitor.site_id,
        origin: visitor.origin,
        createdAt: visitor.created_at,
      },
      families: (s.familiesOf.all(visitorId) as FamilyRow[]).map((row) => ({
        id: row.id,
        origin: row.origin,
        createdAt: row.created_at,
        revokedAt: row.revoked_at,
      })),
      dialogs: (s.dialogsOf.all(visitorId) as DialogRow[]).map(toDialog),
      messages: (s.messagesOf.all(visitorId) as MessageRow[]).map(toMessage),
    };
  });

  const eraseVisitor = db.transaction((visitorId: string) => {
    if (!s.findVisitor.get(visitorId)) return null;
    const counts = {
      dialogs: count(s.countDialogsOf, visitorId),
      messages: count(s.countMessagesOf, visitorId),
      families: count(s.countFamiliesOf, visitorId),
    };
    s.deleteVisitor.run(visitorId);
    return counts;
  });

  return {
    async listSites() {
      guard();
      const tokensOf = new Map<string, SiteTokenRecord[]>();
      for (const row of s.listSiteTokens.all() as SiteTokenRow[]) {
        const token = toSiteToken(row);
        const list = tokensOf.get(token.siteId);
        if (list) list.push(token);
        else tokensOf.set(token.siteId, [token]);
      }
      return (s.listSites.all() as SiteRow[]).map(
        (row): SiteSummary => ({
          id: row.id,
          firstSeenAt: row.first_seen_at,
          lastSeenAt: row.last_seen_at,
          tokens: tokensOf.get(row.id) ?? [],
        }),
      );
    },
    async exportVisitor(visitorId) {
      guard();
      return exportVisitor(visitorId);
    },
    async eraseVisitor(visitorId) {
      guard();
      return eraseVisitor(visitorId);
    },
  };
}
