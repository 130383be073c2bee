/**
 * The original product labelled metrics with request origins, so whoever sent requests decided
 * how many series Prometheus had to keep. Here two phases of the same traffic — 40 rounds, then
 * 2,000 rounds, each with its own origin, client IP, visitor, dialog, forged token and made-up
 * path — must leave every Postern family with exactly the same label sets, all from closed lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_VALUES } from '../../src/metrics/labels.js';
import { type Harness, startHarness } from '../support/harness.js';
import {
  newVisitor,
  readyVisitor,
  SHARED_SERVER_ENV,
  type WatchedSocket,
  waitFor,
} from '../support/ws-client.js';
import { labelSets, type Scrape, scrape, total } from './scrape.js';
import { type Driven, edges, pongingOperator, pool, round } from './traffic.js';

const SMALL = 40;
const LARGE = 2_000;

/** Every family the server exports (docs/operations.md lists the same). */
const FAMILIES = [
  'postern_ws_handshakes_accepted_total',
  'postern_ws_handshakes_refused_total',
  'postern_ws_connections_active',
  'postern_ws_closes_total',
  'postern_ws_connection_duration_seconds',
  'postern_ws_frames_in_total',
  'postern_ws_frames_out_total',
  'postern_ws_frames_refused_total',
  'postern_ws_ping_rtt_seconds',
  'postern_token_verifications_total',
  'postern_limiter_keys',
  'postern_limiter_evictions_total',
  'postern_open_counter_keys',
  'postern_client_ip_resolutions_total',
  'postern_client_ip_anomalies_total',
  'postern_cors_decisions_total',
  'postern_session_refusals_total',
  'postern_assistant_calls_total',
  'postern_assistant_calls_in_flight',
  'postern_assistant_queue_length',
  'postern_http_requests_total',
];

let harness: Harness;
let operator: WatchedSocket;
let small: Scrape;
let large: Scrape;
const driven: Driven = { values: [] };

async function phase(siteToken: string, number: number, rounds: number): Promise<Scrape> {
  await edges(harness, siteToken, number);
  await pool(rounds, 16, (i) => round(harness, siteToken, number, i, driven));
  // Sockets' close lines land when TCP is gone: wait until only the operator is left.
  await waitFor(
    () => harness.server.limiters.sockets.global.inUse === 1,
    'sockets to close',
    10_000,
  );
  return scrape(harness);
}

beforeAll(async () => {
  harness = await startHarness({
    env: {
      ...SHARED_SERVER_ENV,
      POSTERN_METRICS_PORT: '0',
      POSTERN_TRUSTED_PROXIES: 'loopback',
      // The smallest table: 2,000 keys must evict, and evictions are a series of their own.
      POSTERN_LIMITER_MAX_KEYS: '100',
      POSTERN_SITE_SESSION_RATE: '10000000',
      POSTERN_ASSISTANT_SITE_RATE: '10000000',
      POSTERN_PING_INTERVAL_MS: '100',
    },
  });
  operator = await pongingOperator(harness);
  const site = await harness.siteToken();
  driven.values.push(site.token, site.jti);
  small = await phase(site.token, 1, SMALL);
  // A widget `ping` is a timed series: make sure the small phase has it too, so the large phase
  // cannot add it just because one of its short-lived sockets happened to outlive 100 ms.
  const probe = (await readyVisitor(harness, (await newVisitor(harness)).visitorToken)).socket;
  await probe.nextOf('ping', 5_000);
  probe.ws.close(1000);
  await probe.closed();
  small = await scrape(harness);
  // The operator answers pings every 100 ms: the small phase must have timed one already.
  while (total(small, 'postern_ws_frames_in_total', { type: 'pong' }) === 0) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    small = await scrape(harness);
  }
  large = await phase(site.token, 2, LARGE);
}, 240_000);

afterAll(async () => {
  operator?.ws.close(1000);
  await harness?.close();
});

describe('metric labels', () => {
  it('export every family, and the traffic was counted', () => {
    for (const family of FAMILIES) expect(large.types.has(family), family).toBe(true);
    expect(total(large, 'postern_ws_handshakes_accepted_total', { endpoint: 'widget' })).toBe(
      3 * (SMALL + LARGE) + 1, // + the ping probe between the phases
    );
    expect(total(large, 'postern_ws_handshakes_refused_total')).toBe(2 * (SMALL + LARGE) + 2);
    expect(total(large, 'postern_session_refusals_total', { reason: 'origin_not_allowed' })).toBe(
      SMALL + LARGE,
    );
    expect(total(large, 'postern_limiter_evictions_total', { table: 'http' })).toBeGreaterThan(0);
    expect(total(large, 'postern_limiter_keys', { table: 'http' })).toBeLessThanOrEqual(100);
    expect(total(large, 'postern_client_ip_anomalies_total', { anomaly: 'malformed_hop' })).toBe(2);
    expect(total(large, 'postern_client_ip_anomalies_total', { anomaly: 'too_many_hops' })).toBe(2);
    expect(total(large, 'postern_ws_connections_active', { endpoint: 'app' })).toBe(1);
    expect(total(large, 'postern_ws_connections_active', { endpoint: 'widget' })).toBe(0);
    expect(total(large, 'postern_assistant_calls_total', { outcome: 'replied' })).toBeGreaterThan(
      0,
    );
  });

  it('keep the same label sets after 2,000 rounds as after 40', () => {
    const grown: Record<string, string[]> = {};
    for (const family of FAMILIES) {
      const before = labelSets(small, family);
      const added = [...labelSets(large, family)].filter((labels) => !before.has(labels));
      if (added.length > 0) grown[family] = added;
    }
    expect(grown).toEqual({});
  });

  it('take every label value from a closed list', () => {
    for (const [family, series] of large.families) {
      if (!family.startsWith('postern_')) continue;
      for (const { labels } of series) {
        for (const [name, value] of Object.entries(labels)) {
          if (name === 'le') continue;
          expect(LABEL_VALUES[name], `${family} label ${name}`).toContain(value);
        }
      }
    }
  });

  it('never show a value the traffic chose, in any family', () => {
    expect(driven.values.length).toBeGreaterThan(10 * LARGE);
    const leaked = driven.values.filter((value) => value !== '' && large.text.includes(value));
    expect(leaked).toEqual([]);
    for (const fragment of ['shop.example', '.test', 'bad-hop', '198.18.', '198.19.', '/v1/ws/x']) {
      expect(large.text).not.toContain(fragment);
    }
  });
});
