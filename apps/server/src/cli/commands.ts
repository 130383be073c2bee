/**
 * The table of `postern` commands: names, help texts and options. Kept apart from what the
 * commands do, which is loaded only for the command that runs — so `--help` and argument errors
 * answer without loading the database driver, the crypto library or the widget build.
 */
import type { OptionSpecs } from './args.js';
import { type Command, defineCommand } from './command.js';

export const serveOptions = {} as const satisfies OptionSpecs;

export const siteCreateOptions = {
  domains: { type: 'string', required: true },
  'site-id': { type: 'string' },
  'assistant-id': { type: 'string' },
  'expires-in': { type: 'string' },
  server: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies OptionSpecs;

export const siteListOptions = { json: { type: 'boolean' } } as const satisfies OptionSpecs;

export const revokeOptions = {
  site: { type: 'string' },
  'site-token': { type: 'string' },
  visitor: { type: 'string' },
  token: { type: 'string' },
} as const satisfies OptionSpecs;

export const operatorTokenOptions = {
  'operator-id': { type: 'string', required: true },
  name: { type: 'string', required: true },
  sites: { type: 'string', required: true },
  scope: { type: 'string' },
  ttl: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies OptionSpecs;

export const backupOptions = {
  out: { type: 'string', required: true },
} as const satisfies OptionSpecs;

export const restoreOptions = {
  from: { type: 'string', required: true },
  force: { type: 'boolean' },
} as const satisfies OptionSpecs;

export const visitorOptions = {
  visitor: { type: 'string', required: true },
} as const satisfies OptionSpecs;

export const COMMANDS: readonly Command[] = [
  defineCommand({
    name: 'serve',
    summary: 'Run the server (configured by POSTERN_* environment variables)',
    usage: `Usage: postern serve

Runs the Postern server in the foreground, exactly as 'node dist/main.js' does. Configuration
comes only from POSTERN_* environment variables (see docs/configuration.md). SIGTERM or Ctrl-C
shuts it down cleanly. While it runs, the other commands reach it through its control socket
beside the database (POSTERN_DB + ".ctl", mode 0600).

Options:
  -h, --help    Show this help
`,
    options: serveOptions,
    load: async () => (await import('./serve.js')).runServe,
  }),
  defineCommand({
    name: 'site create',
    summary: 'Mint a site token and print its embed snippets',
    usage: `Usage: postern site create --domains DOMAINS [options]

Mints a site token (signed with POSTERN_SITE_SECRET) and prints it with two ready-to-paste
snippets: the plain tag, which always loads the current widget, and the tag pinned to this
widget build with integrity="sha384-…" crossorigin="anonymous". The token is recorded in
POSTERN_DB (through the running server when there is one) so that 'postern site list' shows it.

Options:
  --domains LIST        Comma list of hostnames the widget may run on (required), e.g.
                        shop.example,www.shop.example; subdomains match too. No scheme,
                        port, path, wildcard or public suffix.
  --site-id ID          Site id (default: a new random id); reuse one to mint another token
                        for an existing site
  --assistant-id LABEL  Label handed to the assistant responder (default: default)
  --expires-in TIME     Lifetime: 90d, 12h, 30m or seconds (default: no expiry; at most 10y)
  --server ORIGIN       Origin the widget is served from, e.g. https://chat.example.com
                        (required in production; else http(s)://localhost:POSTERN_PORT)
  --json                Print JSON instead of text
  -h, --help            Show this help
`,
    options: siteCreateOptions,
    load: async () => (await import('./site-create.js')).runSiteCreate,
  }),
  defineCommand({
    name: 'site list',
    summary: 'List the sites the database knows, with their tokens',
    usage: `Usage: postern site list [--json]

Lists the sites known to POSTERN_DB — those whose tokens visitors used, and those recorded by
'postern site create' — with first and last use, their recorded token jtis, and which of them
are revoked. Goes through the running server when there is one.

Options:
  --json        Print JSON instead of text
  -h, --help    Show this help
`,
    options: siteListOptions,
    load: async () => (await import('./site-list.js')).runSiteList,
  }),
  defineCommand({
    name: 'revoke',
    summary: 'Revoke a site, a site token, a visitor or a token',
    usage: `Usage: postern revoke (--site ID | --site-token JTI | --visitor ID | --token JTI)

Revokes for good. With a server running on POSTERN_DB the revocation goes through its control
socket: the server stores it and closes every live socket it covers (close code 4006) at once.
With no server running it is written to the database, and the next server start enforces it.
Either way one audit line records actor "cli", the target kind and the target id.

Options:
  --site ID           A site: every token of it, and every visitor of it
  --site-token JTI    One site token (its jti, as 'postern site list' shows)
  --visitor ID        A visitor: its tokens, refresh tokens and sockets
  --token JTI         Any other token by its jti (a visitor or operator token)
  -h, --help          Show this help
`,
    options: revokeOptions,
    load: async () => (await import('./revoke.js')).runRevoke,
  }),
  defineCommand({
    name: 'operator-token',
    summary: 'Mint an operator token (at most one hour)',
    usage: `Usage: postern operator-token --operator-id ID --name NAME --sites SITES [options]

Mints an operator token signed with POSTERN_OPERATOR_SECRET (or POSTERN_SECRET) and prints it
on stdout. Your backend normally mints these for the console; this is for scripts and tests.

Options:
  --operator-id ID    The operator's id in your system (required)
  --name NAME         Shown to visitors when the operator joins (required)
  --sites SITES       Comma list of site ids, or * for every site (required; quote the *)
  --scope LIST        Comma list of scopes; admin may revoke (default: none)
  --ttl TIME          Lifetime: 3600, 30m or 1h (default and maximum: 1h)
  --json              Print JSON (token, claims, expiry) instead of the bare token
  -h, --help          Show this help
`,
    options: operatorTokenOptions,
    load: async () => (await import('./operator-token.js')).runOperatorToken,
  }),
  defineCommand({
    name: 'backup',
    summary: 'Copy the database to a new file (online, while the server runs)',
    usage: `Usage: postern backup --out FILE

Writes a consistent copy of POSTERN_DB to FILE with SQLite's online backup. With a server
running, the server makes the copy (it holds the database) and keeps serving meanwhile;
otherwise the CLI makes it. FILE must not exist; it is created with mode 0600, since it holds
every message. The secrets are not in it: keep them (and postern-secrets.json, if any) apart.

Options:
  --out FILE    Where to write the copy (a new file)
  -h, --help    Show this help
`,
    options: backupOptions,
    load: async () => (await import('./backup.js')).runBackup,
  }),
  defineCommand({
    name: 'restore',
    summary: 'Replace the database with a backup (server stopped)',
    usage: `Usage: postern restore --from FILE [--force]

Replaces POSTERN_DB with the backup in FILE, in one SQLite transaction (an interrupted restore
leaves the old database as it was). Only while no server runs on POSTERN_DB: it refuses
otherwise. FILE is checked first (an intact Postern database this version can open); a newer
schema is refused, an older one is upgraded at the next server start.

Options:
  --from FILE   The backup to restore
  --force       Replace an existing database (without it, restore only creates one)
  -h, --help    Show this help
`,
    options: restoreOptions,
    load: async () => (await import('./backup.js')).runRestore,
  }),
  defineCommand({
    name: 'visitor export',
    summary: 'Print everything kept about a visitor, as JSON',
    usage: `Usage: postern visitor export --visitor ID

Prints, as JSON on stdout, everything POSTERN_DB keeps about one visitor: the visitor, its
refresh-token families (never the token hashes), its dialogs and every message in them. Goes
through the running server when there is one. Exit code 1 when the visitor is unknown.

Options:
  --visitor ID  The visitor id
  -h, --help    Show this help
`,
    options: visitorOptions,
    load: async () => (await import('./visitor.js')).runVisitorExport,
  }),
  defineCommand({
    name: 'visitor erase',
    summary: "Delete a visitor's data and revoke it",
    usage: `Usage: postern visitor erase --visitor ID

Revokes the visitor (its live sockets close with 4006, its tokens and refresh tokens stop
working), then deletes its messages, dialogs and refresh-token families. Only the revocation
remains: a random id, with no content. Goes through the running server when there is one.
Writes an audit line (actor "cli"). Exit code 1 when the visitor is unknown.

Options:
  --visitor ID  The visitor id
  -h, --help    Show this help
`,
    options: visitorOptions,
    load: async () => (await import('./visitor.js')).runVisitorErase,
  }),
];
