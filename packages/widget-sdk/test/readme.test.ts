/** The SDK README documents the whole public API in its tables. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PosternClient } from '../src/client/client.js';
import type { PosternErrorCode } from '../src/client/errors.js';
import type { PosternClientOptions, PosternEvents } from '../src/client/types.js';
import { EMBED_COMMANDS, EMBED_EVENTS } from '../src/commands.js';
import * as sdk from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

// Exhaustive by type: adding an option, event or error code without listing it here fails to
// compile, and listing it here without documenting it fails the test.
const OPTIONS = {
  serverUrl: 1,
  siteToken: 1,
  getToken: 1,
  storage: 1,
  WebSocket: 1,
  fetch: 1,
  clock: 1,
  random: 1,
  uuid: 1,
  locks: 1,
  page: 1,
} satisfies Record<keyof PosternClientOptions, 1>;
const EVENTS = {
  state: 1,
  ready: 1,
  message: 1,
  typing: 1,
  handoff: 1,
  outbox: 1,
  resynced: 1,
  error: 1,
} satisfies Record<keyof PosternEvents, 1>;
const ERROR_CODES = {
  ERR_CONFIG: 1,
  ERR_LISTENER: 1,
  ERR_PROTOCOL: 1,
  ERR_REFUSED: 1,
  ERR_CLIENT_BUG: 1,
  ERR_HISTORY: 1,
  ERR_TOKEN_UNAUTHORIZED: 1,
  ERR_TOKEN_ORIGIN_NOT_ALLOWED: 1,
  ERR_TOKEN_RETRY: 1,
} satisfies Record<PosternErrorCode, 1>;

// Every `data-*` attribute readEmbedOptions reads (camel-cased dataset keys).
const SCRIPT_OPTIONS = ['siteToken', 'server', 'locale', 'storage', 'color', 'position'] as const;

function tableRows(heading: string): string[] {
  const start = readme.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rest = readme.slice(start + heading.length);
  const end = rest.search(/\n#{2,3} /);
  return (end === -1 ? rest : rest.slice(0, end))
    .split('\n')
    .filter((line) => line.startsWith('|'));
}

describe('SDK README', () => {
  it('lists every option', () => {
    const rows = tableRows('### Options');
    for (const name of Object.keys(OPTIONS)) {
      expect(
        rows.some((row) => row.startsWith(`| \`${name}\``)),
        name,
      ).toBe(true);
    }
  });

  it('lists every public method and property of PosternClient', () => {
    const rows = tableRows('### Methods and properties');
    const members = Object.getOwnPropertyNames(PosternClient.prototype).filter(
      (name) => name !== 'constructor',
    );
    expect(members.length).toBeGreaterThan(5);
    for (const name of members) {
      expect(
        rows.some((row) => row.startsWith(`| \`${name}`)),
        name,
      ).toBe(true);
    }
  });

  it('lists every event', () => {
    const rows = tableRows('### Events');
    for (const name of Object.keys(EVENTS)) {
      expect(
        rows.some((row) => row.startsWith(`| \`${name}\``)),
        name,
      ).toBe(true);
    }
  });

  it('lists every error class and code', () => {
    const rows = tableRows('### Error classes');
    expect(rows.some((row) => row.includes('`PosternError`'))).toBe(true);
    expect(rows.some((row) => row.includes('`TokenError`'))).toBe(true);
    for (const code of Object.keys(ERROR_CODES)) {
      expect(
        rows.some((row) => row.includes(`\`${code}\``)),
        code,
      ).toBe(true);
    }
  });

  it('documents every value the package exports', () => {
    const names = Object.keys(sdk);
    expect(names).toContain('PosternClient');
    const documented = readme.slice(0, readme.indexOf('\n## Behaviour'));
    for (const name of names) {
      expect(documented, name).toMatch(new RegExp(`\`${name}(\`|\\()`));
    }
  });

  it('lists every script-tag option', () => {
    const rows = tableRows('### Script-tag options');
    const attribute = (key: string) =>
      `data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    for (const key of SCRIPT_OPTIONS) {
      expect(
        rows.some((row) => row.startsWith(`| \`${attribute(key)}\``)),
        key,
      ).toBe(true);
    }
  });

  it('lists every command and widget event of the script tag', () => {
    const commands = tableRows('### Commands');
    for (const command of EMBED_COMMANDS) {
      expect(
        commands.some((row) => row.includes(`Postern('${command}'`)),
        command,
      ).toBe(true);
    }
    const events = tableRows('### Widget events');
    for (const event of EMBED_EVENTS) {
      expect(
        events.some((row) => row.startsWith(`| \`${event}\``)),
        event,
      ).toBe(true);
    }
  });
});
