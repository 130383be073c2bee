/**
 * The built server as an operator runs it: POSTERN_METRICS_PORT starts a loopback-only metrics
 * listener that the start-up line names; the public port still answers /metrics with 404.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { httpStatus, type ServerProcess, startServer } from '../blackbox/support/server-process.js';
import { parseExposition } from './scrape.js';

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.dispose();
  server = undefined;
});

describe('metrics in the built server', () => {
  it('listen on 127.0.0.1 at POSTERN_METRICS_PORT, never on the public port', async () => {
    server = await startServer({ POSTERN_METRICS_PORT: '0' });
    const listening = server
      .stdout()
      .split('\n')
      .map((line) => (line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : {}))
      .find((line) => line['event'] === 'listening');
    expect(listening).toMatchObject({ metrics_host: '127.0.0.1' });
    const port = Number(listening?.['metrics_port']);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(server.port);

    expect(await httpStatus(server.port, '/metrics')).toBe(404);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const scraped = parseExposition(await res.text());
    expect(scraped.types.get('postern_http_requests_total')).toBe('counter');
    expect(scraped.types.has('process_resident_memory_bytes')).toBe(true);
  });

  it('are off without POSTERN_METRICS_PORT', async () => {
    server = await startServer();
    expect(server.stdout()).toContain('"metrics_port":null');
    expect(await httpStatus(server.port, '/metrics')).toBe(404);
  });
});
