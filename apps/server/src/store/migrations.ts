/**
 * Schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records
 * how many have run. Never edit a released migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE sites (
    id            TEXT PRIMARY KEY,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
  ) STRICT;

  -- Site tokens seen in use: a visitor token names its minting site token (sjti), whose domains
  -- the socket's origin must still match.
  CREATE TABLE site_tokens (
    jti             TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL,
    allowed_domains TEXT NOT NULL,
    assistant_id    TEXT NOT NULL,
    expires_at      INTEGER,
    first_seen_at   INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE revocations (
    kind       TEXT NOT NULL CHECK (kind IN ('jti', 'site', 'visitor')),
    target     TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    -- NULL: for good. Automatic revocations expire once nothing they cover can still be valid.
    expires_at INTEGER,
    PRIMARY KEY (kind, target)
  ) STRICT;

  CREATE TABLE visitors (
    id         TEXT PRIMARY KEY,
    site_id    TEXT NOT NULL,
    origin     TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX visitors_site ON visitors (site_id);

  CREATE TABLE refresh_families (
    id         TEXT PRIMARY KEY,
    visitor_id TEXT NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    site_id    TEXT NOT NULL,
    origin     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) STRICT;
  CREATE INDEX refresh_families_visitor ON refresh_families (visitor_id);

  CREATE TABLE refresh_tokens (
    hash           BLOB PRIMARY KEY,
    family_id      TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    issued_at      INTEGER NOT NULL,
    rotated_at     INTEGER,
    successor_hash BLOB
  ) STRICT;
  CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

  CREATE TABLE dialogs (
    id              TEXT PRIMARY KEY,
    visitor_id      TEXT NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    site_id         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    created_at      INTEGER NOT NULL,
    closed_at       INTEGER
  ) STRICT;
  -- At most one open dialog per visitor (SPEC §3), enforced by the database itself.
  CREATE UNIQUE INDEX dialogs_one_open ON dialogs (visitor_id) WHERE state = 'open';
  CREATE INDEX dialogs_site ON dialogs (site_id, state);
  `,
];
