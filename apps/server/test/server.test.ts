import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

describe('server', () => {
  it('answers the probes', async () => {
    harness = await startHarness();
    expect((await fetch(`${harness.base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${harness.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
  });

  it('is not ready once shutting down', async () => {
    harness = await startHarness();
    const closing = harness.server.close();
    const ready = await fetch(`${harness.base}/readyz`).catch(() => null);
    expect(ready === null || ready.status === 503).toBe(true);
    await closing;
  });

  it('serves widget.js cacheable for five minutes, cross-origin', async () => {
    harness = await startHarness();
    const res = await fetch(`${harness.base}/widget.js?site=ignored`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('/* widget */');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('serves the versioned build as immutable', async () => {
    harness = await startHarness();
    const res = await fetch(`${harness.base}/widget/0.0.0-test/widget.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${harness.base}/widget/0.0.1/widget.js`)).status).toBe(404);
  });

  it('answers unknown paths with a stable error body', async () => {
    harness = await startHarness();
    const res = await fetch(`${harness.base}/v1/nothing`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found' });
  });
});
