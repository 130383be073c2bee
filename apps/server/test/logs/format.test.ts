/**
 * The line format (one JSON object per line, level as a word, `time` in ms, `event`), the level
 * from POSTERN_LOG_LEVEL, and `redact` as the second line of defence against secrets.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger, type LogLevel } from '../../src/log.js';

function capture(level?: LogLevel) {
  const lines: string[] = [];
  const log = createLogger(
    (line) => lines.push(line),
    level,
    () => 1_700_000_000_000,
  );
  return { lines, log };
}

const load = (env: Record<string, string>) =>
  loadConfig({ POSTERN_DB: ':memory:', ...env }, { readFile: () => Buffer.alloc(0) });

describe('log lines', () => {
  it('are one JSON object per line: level, time, fields, event', () => {
    const { lines, log } = capture();
    log.info('ws_close', { session_id: 'abc', code: 1000 });
    expect(lines).toEqual([
      '{"level":"info","time":1700000000000,"session_id":"abc","code":1000,"event":"ws_close"}\n',
    ]);
  });

  it('write errors with their name, message and code', () => {
    const { lines, log } = capture();
    const error = Object.assign(new Error('disk I/O'), { code: 'SQLITE_IOERR' });
    log.error('chat_error', { error });
    expect(JSON.parse(lines[0] ?? '{}')['error']).toMatchObject({
      name: 'Error',
      message: 'disk I/O',
      code: 'SQLITE_IOERR',
    });
  });

  it('drop credential and request-target fields a call site passes by mistake', () => {
    const { lines, log } = capture('debug');
    const fields = ['token', 'refresh_token', 'visitor_token', 'site_token', 'authorization'];
    const leaky = Object.fromEntries(
      [...fields, 'headers', 'url', 'query'].map((field) => [field, `LEAK-${field}`]),
    );
    log.info('careless', { ...leaky, nested: { ...leaky, kept: 1 }, kept: 2 });
    log.debug('careless_url', { url: '/v1/widget/session?site_token=abc' });
    expect(lines.join('')).not.toContain('LEAK-');
    expect(lines.join('')).not.toContain('site_token');
    expect(JSON.parse(lines[0] ?? '{}')).toEqual({
      level: 'info',
      time: 1_700_000_000_000,
      event: 'careless',
      nested: { kept: 1 },
      kept: 2,
    });
  });
});

describe('POSTERN_LOG_LEVEL', () => {
  it('defaults to info and drops the lines below the level', () => {
    const result = load({});
    expect(result.ok && result.config.logLevel).toBe('info');
    const { lines, log } = capture(result.ok ? result.config.logLevel : 'error');
    log.debug('ws_open');
    log.info('ws_ready');
    log.warn('control_unavailable');
    expect(lines.map((line) => JSON.parse(line)['event'])).toEqual([
      'ws_ready',
      'control_unavailable',
    ]);
  });

  it.each(['debug', 'info', 'warn', 'error'] as const)('accepts %s', (level) => {
    const result = load({ POSTERN_LOG_LEVEL: level });
    expect(result.ok && result.config.logLevel).toBe(level);
  });

  it('refuses anything else in production, naming the variable and not the value', () => {
    const result = load({
      NODE_ENV: 'production',
      POSTERN_LOG_LEVEL: 'verbose',
      POSTERN_SITE_SECRET: 'x'.repeat(32),
      POSTERN_SECRET: 'y'.repeat(32),
    });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors).toEqual(['POSTERN_LOG_LEVEL: must be debug, info, warn or error']);
  });

  it('falls back to info with a warning outside production', () => {
    const result = load({ POSTERN_LOG_LEVEL: 'DEBUG' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.logLevel).toBe('info');
    expect(result.warnings).toContain(
      'POSTERN_LOG_LEVEL: must be debug, info, warn or error; using the default',
    );
  });
});
