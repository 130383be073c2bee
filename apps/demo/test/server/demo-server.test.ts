/**
 * The demo web server against the real, built Postern server: each host serves its page with
 * its CSP, the dev operator-token route answers only its own origin and does not exist in
 * production, and what the demo mints is accepted by the server.
 */
import { request } from 'node:http';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadDemoConfig } from '../../server/src/config.js';
import { type DemoServer, startDemoServer } from '../../server/src/demo-server.js';
import {
  CONSOLE_DIST,
  freePort,
  type PosternProcess,
  SHOP_CSS,
  startPostern,
} from './support/postern-process.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request to 127.0.0.1:`port` with the given `Host` (as a browser on *.localhost sends). */
function fetchAs(
  port: number,
  host: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host, ...options.headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

let postern: PosternProcess;
let demo: DemoServer;
let port: number;
const origin = (name: 'shop' | 'other' | 'app') => `http://${name}.localhost:${port}`;
const host = (name: 'shop' | 'other' | 'app') => `${name}.localhost:${port}`;

function mintRequest(headers: Record<string, string>, on: 'app' | 'shop' = 'app') {
  return fetchAs(port, host(on), '/dev/operator-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  });
}

const sameOrigin = () => ({ origin: origin('app'), 'sec-fetch-site': 'same-origin' });

beforeAll(async () => {
  port = await freePort();
  postern = await startPostern({ POSTERN_APP_ORIGINS: `http://app.localhost:${port}` });
  const config = loadDemoConfig(
    {
      POSTERN_DB: postern.db,
      POSTERN_DEMO_PORT: String(port),
      POSTERN_DEMO_SERVER_URL: `http://localhost:${postern.port}`,
    },
    process.cwd(),
  );
  if (!config.ok) throw new Error(config.errors.join('\n'));
  demo = await startDemoServer(config.config, { consoleDir: CONSOLE_DIST, shopCss: SHOP_CSS });
});

afterAll(async () => {
  await demo?.close();
  // The Postern server exits 0 on SIGTERM (clean shutdown).
  expect(await postern?.stop()).toBe(0);
});

describe('demo hosts', () => {
  it('serves the shop with the widget tag, the queue stub and the SPEC §7 host CSP', async () => {
    const answer = await fetchAs(port, host('shop'), '/');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(answer.headers['content-security-policy']);
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)' /.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    const w = `http://localhost:${postern.port}`;
    expect(csp).toBe(
      `default-src 'none'; script-src 'nonce-${nonce}' ${w}; connect-src ${w} ws://localhost:${postern.port}; ` +
        `style-src 'self' ${w}; img-src 'self' ${w} data:; font-src ${w}; base-uri 'none'; ` +
        "form-action 'none'; frame-ancestors 'none'",
    );
    expect(answer.body).toContain(
      `<script nonce="${nonce}">window.Postern=window.Postern||function(){(window.Postern.q=window.Postern.q||[]).push(arguments)}</script>`,
    );
    expect(answer.body).toMatch(
      new RegExp(`<script async src="${w}/widget.js" data-site-token="[\\w.-]+"></script>`),
    );
    // No inline script without the nonce, and a new nonce per response.
    const count = (needle: string) => answer.body.split(needle).length - 1;
    expect(count('<script')).toBe(count(`<script nonce="${nonce}">`) + 1);
    const again = await fetchAs(port, host('shop'), '/');
    expect(again.headers['content-security-policy']).not.toBe(csp);
  });

  it('serves the same tag on other.localhost', async () => {
    const shop = await fetchAs(port, host('shop'), '/');
    const other = await fetchAs(port, host('other'), '/');
    expect(other.status).toBe(200);
    expect(String(other.headers['content-security-policy'])).toMatch(
      /^default-src 'none'; script-src 'nonce-/,
    );
    const tag = (body: string) =>
      /<script async src="[^"]+" data-site-token="[^"]+"><\/script>/.exec(body)?.[0];
    expect(tag(other.body)).toBeDefined();
    expect(tag(other.body)).toBe(tag(shop.body));
    expect(other.body).toContain('not in the site');
  });

  it('mints a site token the server accepts on shop.localhost only', async () => {
    const page = await fetchAs(port, host('shop'), '/');
    const siteToken = /data-site-token="([^"]+)"/.exec(page.body)?.[1] ?? '';
    expect(decodeProtectedHeader(siteToken)).toEqual({ alg: 'HS256', typ: 'site+jwt' });
    expect(decodeJwt(siteToken)).toMatchObject({
      aud: 'postern:site',
      iss: 'postern',
      sub: 'demo-shop',
      allowed_domains: ['shop.localhost'],
    });
    const session = (pageOrigin: string) =>
      fetchAs(
        postern.port,
        `localhost:${postern.port}`,
        `/v1/widget/session?site_token=${siteToken}`,
        {
          method: 'POST',
          headers: { origin: pageOrigin, 'content-type': 'application/json' },
          body: '{}',
        },
      );
    expect((await session(origin('shop'))).status).toBe(200);
    const refused = await session(origin('other'));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ error: 'origin_not_allowed' });
  });

  it('serves the operator console with its strict CSP', async () => {
    const answer = await fetchAs(port, host('app'), '/');
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('<title>Postern operator console</title>');
    const w = `http://localhost:${postern.port}`;
    expect(answer.headers['content-security-policy']).toBe(
      `default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ${w} ws://localhost:${postern.port}; ` +
        "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
        "require-trusted-types-for 'script'; trusted-types 'none'",
    );
    // Same-origin code only: every script is an external file the server has.
    expect(answer.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    const script = /<script type="module" crossorigin src="([^"]+)"/.exec(answer.body)?.[1] ?? '';
    const js = await fetchAs(port, host('app'), script);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).not.toMatch(/\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=|document\.write/);
    const config = await fetchAs(port, host('app'), '/config.json');
    expect(JSON.parse(config.body)).toEqual({ server_url: w });
  });

  it('answers nothing but a pointer for an unknown Host (DNS rebinding)', async () => {
    const answer = await fetchAs(port, `evil.example:${port}`, '/');
    expect(answer.status).toBe(404);
    const mint = await fetchAs(port, `evil.example:${port}`, '/dev/operator-token', {
      method: 'POST',
      headers: { origin: `http://evil.example:${port}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(mint.status).toBe(404);
    expect(mint.body).not.toContain('token');
  });
});

describe('dev operator-token route', () => {
  it('mints a short-lived admin operator token for the console origin', async () => {
    const answer = await mintRequest(sameOrigin());
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    const { token, expires_at: expiresAt } = JSON.parse(answer.body) as {
      token: string;
      expires_at: number;
    };
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'operator+jwt' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      aud: 'postern:app',
      iss: 'postern',
      sub: 'demo-operator',
      name: 'Demo operator',
      sites: ['demo-shop'],
      scope: ['admin'],
    });
    const lifetime = (claims.exp ?? 0) - (claims.iat ?? 0);
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(3600);
    expect(expiresAt).toBe((claims.exp ?? 0) * 1000);
  });

  it.each([
    ['a foreign Origin', { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }],
    [
      'a sibling *.localhost page',
      { origin: 'http://shop.localhost', 'sec-fetch-site': 'same-site' },
    ],
    [
      'the right Origin with Sec-Fetch-Site cross-site',
      { origin: 'APP', 'sec-fetch-site': 'cross-site' },
    ],
    ['no Origin at all', {}],
  ])('refuses %s', async (_label, headers: Record<string, string>) => {
    const fixed = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [
        name,
        value === 'APP' ? origin('app') : value,
      ]),
    );
    const answer = await mintRequest(fixed);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({ error: 'forbidden' });
  });

  it('refuses a simple (form-like) request and GET', async () => {
    const form = await fetchAs(port, host('app'), '/dev/operator-token', {
      method: 'POST',
      headers: { ...sameOrigin(), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=b',
    });
    expect(form.status).toBe(415);
    expect((await fetchAs(port, host('app'), '/dev/operator-token')).status).toBe(405);
  });

  it('exists only on the console host', async () => {
    const answer = await mintRequest({ origin: origin('shop') }, 'shop');
    expect(answer.status).toBe(405);
    expect(answer.body).not.toContain('token');
  });

  it('mints a token the real server accepts on /v1/ws/app from the console origin', async () => {
    const { token } = JSON.parse((await mintRequest(sameOrigin())).body) as { token: string };
    const ws = new WebSocket(`ws://127.0.0.1:${postern.port}/v1/ws/app`, { origin: origin('app') });
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
      ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
      ws.once('close', (code) => reject(new Error(`closed ${code} before ready`)));
      ws.once('error', reject);
    });
    ws.close();
    expect(first['type']).toBe('ready');
    // And history over HTTP, CORS-allowed for the console origin only.
    const list = await fetchAs(postern.port, `localhost:${postern.port}`, '/v1/app/dialogs', {
      headers: { origin: origin('app'), authorization: `Bearer ${token}` },
    });
    expect(list.status).toBe(200);
    expect(list.headers['access-control-allow-origin']).toBe(origin('app'));
  });
});

describe('production', () => {
  it('has no dev operator-token route', async () => {
    const config = loadDemoConfig(
      {
        NODE_ENV: 'production',
        POSTERN_DB: postern.db,
        POSTERN_DEMO_PORT: '0',
        POSTERN_SITE_SECRET: 'demo-test-site-secret-0123456789abcdef',
        POSTERN_DEMO_SERVER_URL: `http://localhost:${postern.port}`,
      },
      process.cwd(),
    );
    if (!config.ok) throw new Error(config.errors.join('\n'));
    expect(config.config.production).toBe(true);
    const production = await startDemoServer(config.config, {
      consoleDir: CONSOLE_DIST,
      shopCss: SHOP_CSS,
    });
    try {
      const appHost = `app.localhost:${production.port}`;
      const answer = await fetchAs(production.port, appHost, '/dev/operator-token', {
        method: 'POST',
        headers: {
          origin: `http://${appHost}`,
          'sec-fetch-site': 'same-origin',
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect(answer.status).toBe(404);
      expect(answer.body).not.toContain('token"');
      // The pages themselves still work.
      expect((await fetchAs(production.port, appHost, '/')).status).toBe(200);
    } finally {
      await production.close();
    }
  });

  it('refuses to start without real secrets rather than reading dev ones', async () => {
    const config = loadDemoConfig(
      { NODE_ENV: 'production', POSTERN_DB: postern.db, POSTERN_DEMO_PORT: '0' },
      process.cwd(),
    );
    if (!config.ok) throw new Error(config.errors.join('\n'));
    await expect(
      startDemoServer(config.config, { consoleDir: CONSOLE_DIST, shopCss: SHOP_CSS }),
    ).rejects.toThrow(/POSTERN_SITE_SECRET/);
  });
});
