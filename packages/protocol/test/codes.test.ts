import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CLOSE_POLICIES,
  CloseCode,
  closePolicy,
  closeRule,
  formatRetryHint,
  parseRetryHint,
  RETRY_HINT_CODES,
  UNKNOWN_CLOSE_POLICY,
  UNKNOWN_CLOSE_RULE,
} from '../src/codes.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** Rows of the documented close-code table, between its markers. */
function documentedRows(): string[][] {
  const start = readme.indexOf('<!-- close-codes:start -->');
  const end = readme.indexOf('<!-- close-codes:end -->');
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return readme
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2) // header and separator
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

describe('close policy table', () => {
  it('has exactly one row per code', () => {
    const codes = CLOSE_POLICIES.map((policy) => policy.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('covers every named close code the server sends', () => {
    for (const [name, code] of Object.entries(CloseCode)) {
      expect(closePolicy(code).name).toBe(name);
      expect(closePolicy(code).code).toBe(code);
    }
  });

  it.each([
    [1000, 'stop', false],
    [1001, 'spread', false],
    [1002, 'stop', true],
    [1003, 'stop', true],
    [1006, 'backoff', false],
    [1007, 'stop', true],
    [1009, 'stop', true],
    [1011, 'backoff', false],
    [1012, 'backoff', false],
    [1013, 'backoff', false],
    [1015, 'backoff', false],
    [4000, 'stop', true],
    [4001, 'refresh', false],
    [4002, 'stop', false],
    [4003, 'stop', false],
    [4004, 'reset', false],
    [4005, 'retry_once', false],
    [4006, 'stop', false],
    [4007, 'backoff', false],
    [4008, 'backoff', false],
    [4010, 'backoff', false],
    [4011, 'refresh', false],
    [4014, 'backoff', false],
  ])('code %i → %s (client bug: %s), as SPEC §4 says', (code, action, clientBug) => {
    expect(closePolicy(code).action).toBe(action);
    expect(closePolicy(code).clientBug).toBe(clientBug);
  });

  it('treats unknown codes as transport trouble', () => {
    for (const code of [1004, 1005, 1014, 3000, 4009, 4999, 0, -1]) {
      expect(closePolicy(code)).toBe(UNKNOWN_CLOSE_POLICY);
    }
    expect(UNKNOWN_CLOSE_POLICY.action).toBe('backoff');
  });

  it('spreads 1001 over 10 s and caps 4008 at 8 attempts', () => {
    expect(closePolicy(1001).spreadMs).toBe(10_000);
    expect(closePolicy(4008).maxAttempts).toBe(8);
    expect(closePolicy(1013).maxAttempts).toBeUndefined();
  });

  it('honours retry hints on 1001, 1013 and 4008 only', () => {
    expect([...RETRY_HINT_CODES].sort()).toEqual([1001, 1013, 4008]);
  });

  it('gives clients the same rule for every code, without the name', () => {
    for (const { code, name: _, ...policy } of [...CLOSE_POLICIES, UNKNOWN_CLOSE_POLICY]) {
      for (const probe of code === null ? [1004, 3000, 4009, 4999, 0, -1] : [code]) {
        expect(closeRule(probe), String(probe)).toEqual(policy);
      }
    }
    expect(closeRule(4999)).toBe(UNKNOWN_CLOSE_RULE);
    expect(Object.isFrozen(closeRule(4008))).toBe(true);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(CLOSE_POLICIES)).toBe(true);
    expect(Object.isFrozen(closePolicy(4008))).toBe(true);
  });
});

describe('close policy documentation', () => {
  it('lists every code of the table, and nothing else, with the same policy', () => {
    const rows = documentedRows();
    const expected = [...CLOSE_POLICIES, UNKNOWN_CLOSE_POLICY].map((policy) => [
      policy.code === null ? 'unknown' : String(policy.code),
      policy.name,
      policy.action,
      policy.clientBug ? 'yes' : 'no',
      policy.honoursRetryHint ? 'yes' : 'no',
    ]);
    const documented = rows.map((cells) => cells.slice(0, 5));
    const key = (row: string[]) => row[0] ?? '';
    expect(documented.map(key).sort()).toEqual(expected.map(key).sort());
    expect([...documented].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      [...expected].sort((a, b) => key(a).localeCompare(key(b))),
    );
  });

  it('documents the spread window and the attempt cap it implements', () => {
    const rows = documentedRows();
    expect(rows.find((cells) => cells[0] === '1001')?.[5]).toContain('0–10 s');
    expect(rows.find((cells) => cells[0] === '4008')?.[5]).toContain('at most 8 attempts');
  });
});

describe('retry hints', () => {
  it.each([
    [0, 'retry=5'],
    [1, 'retry=5'],
    [5000, 'retry=5'],
    [5001, 'retry=15'],
    [29_000, 'retry=30'],
    [60_000, 'retry=60'],
    [61_000, 'retry=300'],
    [10_000_000, 'retry=300'],
    [-5, 'retry=5'],
  ])('formats %i ms as %s (never earlier than asked, capped)', (ms, reason) => {
    expect(formatRetryHint(ms)).toBe(reason);
  });

  it.each([
    ['retry=5', 5000],
    ['retry=15', 15_000],
    ['retry=30', 30_000],
    ['retry=60', 60_000],
    ['retry=300', 300_000],
  ])('parses %s', (reason, ms) => {
    expect(parseRetryHint(reason)).toBe(ms);
  });

  it.each([
    '',
    'retry=',
    'retry=7',
    'retry=0',
    'retry=05',
    'retry=3000',
    'retry=5 ',
    ' retry=5',
    'retry=5s',
    'retry=-5',
    'retry=1e3',
    'RETRY=5',
    'token_revoked',
  ])('ignores %j', (reason) => {
    expect(parseRetryHint(reason)).toBeNull();
  });
});
