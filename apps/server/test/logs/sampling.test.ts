/**
 * Refusal lines are sampled: at most one line per reason per second, and the next line of that
 * reason says how many were dropped (`suppressed`). Memory is one slot per fixed reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createRefusalLog } from '../../src/refusal-log.js';
import { APP, type Harness, startHarness } from '../support/harness.js';
import type { TestClock } from '../support/ws-client.js';

function capture(now: () => number) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger((line) => lines.push(JSON.parse(line)), 'debug');
  return { lines, refusals: createRefusalLog({ log, now }) };
}

describe('refusal sampling', () => {
  it('writes one line per reason per second, then the count of the lines it dropped', () => {
    let now = 10_000;
    const { lines, refusals } = capture(() => now);
    for (let i = 0; i < 500; i++)
      refusals.refused('http', 'rate_limited', { ip: `192.0.2.${i % 250}` });
    refusals.refused('http', 'origin_not_allowed');
    expect(lines).toMatchObject([
      { event: 'http_refused', reason: 'rate_limited', suppressed: 0, ip: '192.0.2.0' },
      { event: 'http_refused', reason: 'origin_not_allowed', suppressed: 0 },
    ]);
    now += 999;
    refusals.refused('http', 'rate_limited');
    expect(lines).toHaveLength(2);
    now += 1;
    refusals.refused('http', 'rate_limited');
    expect(lines.at(-1)).toMatchObject({ reason: 'rate_limited', suppressed: 500 });
    now += 1_000;
    refusals.refused('http', 'rate_limited');
    expect(lines.at(-1)).toMatchObject({ reason: 'rate_limited', suppressed: 0 });
  });

  it('keeps the same reason apart per event', () => {
    const { lines, refusals } = capture(() => 0);
    refusals.refused('ws_handshake', 'rate_limited');
    refusals.refused('http', 'rate_limited');
    expect(lines.map((line) => line['event'])).toEqual(['ws_handshake_refused', 'http_refused']);
  });

  it('folds reasons outside its lists into one `other` slot', () => {
    let now = 0;
    const { lines, refusals } = capture(() => now);
    for (let i = 0; i < 10_000; i++) refusals.refused('http', `made-up-${i}`);
    expect(lines).toEqual([expect.objectContaining({ reason: 'other', suppressed: 0 })]);
    now = 1_000;
    refusals.refused('http', 'made-up-again');
    expect(lines.at(-1)).toMatchObject({ reason: 'other', suppressed: 9_999 });
    expect(JSON.stringify(lines)).not.toContain('made-up');
  });

  it('does not fall silent when the clock steps back', () => {
    let now = 5_000;
    const { lines, refusals } = capture(() => now);
    refusals.refused('ws_auth', '4002');
    now = 1_000;
    refusals.refused('ws_auth', '4002');
    expect(lines).toHaveLength(2);
  });
});

describe('refusal sampling on a running server', () => {
  let harness: Harness;
  let clock: TestClock;
  /**
   * A server clock that stands still unless the test moves it: a burst on a loaded machine can
   * take longer than the one-second sampling window in real time, which would log it twice.
   */
  function stoppedClock(): TestClock {
    let at = Date.now();
    return {
      now: () => at,
      advance: (ms) => {
        at += ms;
      },
    };
  }
  afterEach(() => harness.close());

  const refusedLines = (event: string, reason: string) =>
    harness.logs.filter((line) => line['event'] === event && line['reason'] === reason);

  it('logs a burst of refused handshakes once, and the next second says how many it dropped', async () => {
    clock = stoppedClock();
    harness = await startHarness({ now: clock.now, env: { POSTERN_CONN_RATE: '100000' } });
    const refuse = (i: number) =>
      harness.connect('/v1/ws/app', { Origin: `http://console-${i}.test` }).then(
        () => 'upgraded',
        (error: Error) => error.message,
      );
    for (let i = 0; i < 60; i++) expect(await refuse(i)).toBe('HTTP 403');
    expect(refusedLines('ws_handshake_refused', 'app_origin')).toEqual([
      expect.objectContaining({ suppressed: 0, endpoint: 'app', status: 403, ip: '127.0.0.1' }),
    ]);
    clock.advance(1_000);
    await refuse(60);
    const lines = refusedLines('ws_handshake_refused', 'app_origin');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ suppressed: 59, ip_source: 'socket' });
    expect(JSON.stringify(harness.logs)).not.toContain('console-');
  });

  it('samples refused API requests per error code', async () => {
    clock = stoppedClock();
    harness = await startHarness({
      now: clock.now,
      env: { POSTERN_HTTP_RATE: '100000', POSTERN_SESSION_RATE: '100000' },
    });
    const site = await harness.siteToken();
    for (let i = 0; i < 30; i++) {
      expect((await harness.session(site.token, `http://evil-${i}.test`)).status).toBe(403);
      const app = await fetch(`${harness.base}/v1/app/dialogs`, {
        headers: { Origin: APP, Authorization: `Bearer forged-${i}` },
      });
      expect(app.status).toBe(401);
    }
    expect(refusedLines('http_refused', 'origin_not_allowed')).toHaveLength(1);
    expect(refusedLines('http_refused', 'unauthorized')).toEqual([
      expect.objectContaining({ route: '/v1/app/dialogs', error_code: 'ERR_AUTH_FAILED' }),
    ]);
    clock.advance(1_500);
    await harness.session(site.token, 'http://evil-last.test');
    expect(refusedLines('http_refused', 'origin_not_allowed').at(-1)).toMatchObject({
      route: '/v1/widget/session',
      suppressed: 29,
    });
    expect(JSON.stringify(harness.logs)).not.toMatch(/evil-|forged-/);
  });
});
