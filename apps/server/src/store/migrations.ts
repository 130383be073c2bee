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
  // 2: chat. Messages, and on each dialog its head (last seq, activity) and handoff state.
  `
  -- Checks that span columns sit on the last column they name: ALTER TABLE cannot add a table
  -- constraint, and an added column's CHECK is verified against the rows already there.
  ALTER TABLE dialogs ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0);
  ALTER TABLE dialogs ADD COLUMN last_message_at INTEGER
    CHECK ((last_message_at IS NULL) = (last_seq = 0));
  ALTER TABLE dialogs ADD COLUMN handoff_state TEXT NOT NULL DEFAULT 'assistant'
    CHECK (handoff_state IN ('assistant', 'requested', 'operator', 'closed'));
  UPDATE dialogs SET handoff_state = 'closed' WHERE state = 'closed';
  -- A holder exactly while an operator holds the dialog; a closed dialog is closed for the
  -- handoff too.
  ALTER TABLE dialogs ADD COLUMN holder_id TEXT
    CHECK ((holder_id IS NOT NULL) = (handoff_state = 'operator')
           AND (state = 'closed') = (handoff_state = 'closed'));
  ALTER TABLE dialogs ADD COLUMN holder_name TEXT
    CHECK ((holder_name IS NULL) = (holder_id IS NULL));

  CREATE TABLE messages (
    dialog_id     TEXT NOT NULL REFERENCES dialogs (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL CHECK (seq >= 1),
    id            TEXT NOT NULL UNIQUE,
    client_msg_id TEXT,
    sender        TEXT NOT NULL CHECK (sender IN ('visitor', 'assistant', 'operator', 'system')),
    sender_id     TEXT,
    text          TEXT NOT NULL,
    ts            INTEGER NOT NULL,
    PRIMARY KEY (dialog_id, seq),
    -- The sender is an identity for visitors and operators only, and idempotency is keyed by it:
    -- a client_msg_id without one would never match (NULLs are distinct in a unique index).
    CHECK ((sender_id IS NULL) = (sender IN ('assistant', 'system'))),
    CHECK (client_msg_id IS NULL OR sender_id IS NOT NULL)
  ) STRICT;
  -- Idempotent sends (SPEC §4): one message per (dialog, sender identity, client_msg_id).
  CREATE UNIQUE INDEX messages_client_msg ON messages (dialog_id, sender, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;

  -- Cascades from visitors, and the purge's "has a dialog with messages" probe.
  CREATE INDEX dialogs_visitor ON dialogs (visitor_id, last_seq);
  -- Operator snapshots: open dialogs with messages, latest activity first, all sites or by site.
  CREATE INDEX dialogs_active ON dialogs (last_message_at, id)
    WHERE state = 'open' AND last_seq > 0;
  CREATE INDEX dialogs_active_site ON dialogs (site_id, last_message_at, id)
    WHERE state = 'open' AND last_seq > 0;
  -- Superseded by the one above; left in place, the planner would prefer it and walk every
  -- empty open dialog of the site (one per session, bots included).
  DROP INDEX dialogs_site;
  -- Idle close: open dialogs by latest activity (the creation time while empty).
  CREATE INDEX dialogs_idle ON dialogs (coalesce(last_message_at, created_at), id)
    WHERE state = 'open';
  -- Purge: empty dialogs and visitors by age; held dialogs by holder for the handoff timers.
  CREATE INDEX dialogs_empty ON dialogs (created_at) WHERE last_seq = 0;
  CREATE INDEX visitors_created ON visitors (created_at);
  CREATE INDEX dialogs_held ON dialogs (holder_id, id) WHERE handoff_state = 'operator';
  `,
];
