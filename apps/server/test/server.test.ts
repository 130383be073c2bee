import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createPosternServer, type PosternServer } from '../src/server.js';

const widget = { version: '9.9.9', body: Buffer.from('/* widget */') };
let server: PosternServer | undefined;

async function start(): Promise<string> {
  const result = loadConfig({ POSTERN_PORT: '0', POSTERN_HOST: '127.0.0.1' });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  server = createPosternServer({ config: result.config, widget });
  await server.listen();
  return `http://127.0.0.1:${(server.http.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('server', () => {
  it('answers the probes', async () => {
    const base = await start();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
  });

  it('serves widget.js cacheable for five minutes, cross-origin', async () => {
    const base = await start();
    const res = await fetch(`${base}/widget.js?site=ignored`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('/* widget */');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('serves the versioned build as immutable', async () => {
    const base = await start();
    const res = await fetch(`${base}/widget/9.9.9/widget.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${base}/widget/0.0.1/widget.js`)).status).toBe(404);
  });

  it('answers unknown paths with a stable error body', async () => {
    const base = await start();
    const res = await fetch(`${base}/v1/nothing`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found' });
  });
});

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      ok: true,
      config: { production: false, port: 8787, host: undefined },
    });
  });

  it('names the variable and the rule, never the value', () => {
    const result = loadConfig({ POSTERN_PORT: 'hunter2' });
    expect(result).toEqual({
      ok: false,
      errors: ['POSTERN_PORT: must be an integer from 0 to 65535'],
    });
  });
});
