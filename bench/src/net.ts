/**
 * Client-side networking of the load generator: loopback source addresses, plain HTTP calls from
 * a chosen address, and a `fetch` for the SDK that uses them.
 *
 * Every load socket leaves from its own 127.x.y.z address (all of 127/8 is loopback on Linux):
 * ephemeral ports run out per (source, destination) pair, so thousands of sockets from one
 * address would exhaust them, and a server's per-IP limits are kept per address too.
 */
import { type Agent, request } from 'node:http';

/** Distinct addresses per block; 10,000 sockets over 500 addresses is 20 per address. */
const ADDRESSES_PER_BLOCK = 500;

/**
 * The `index`-th source address of `block` (1–250): `127.<block>.<0|1>.<1–250>`. Each scenario
 * uses its own block, so no per-address count of one scenario leaks into the next.
 */
export function sourceAddress(block: number, index: number): string {
  const host = index % ADDRESSES_PER_BLOCK;
  return `127.${block}.${Math.floor(host / 250)}.${(host % 250) + 1}`;
}

export interface HttpCall {
  readonly port: number;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly localAddress?: string;
  readonly agent?: Agent;
  readonly timeoutMs?: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
}

/** One HTTP request to 127.0.0.1 (fetch cannot choose its source address). */
export function httpCall(call: HttpCall): Promise<HttpAnswer> {
  const { port, method = 'GET', path, headers = {}, body, localAddress, timeoutMs = 10_000 } = call;
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method,
      path,
      headers:
        body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      agent: call.agent ?? false,
      timeout: timeoutMs,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: flat,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A `fetch` for `PosternClient` under Node: from `localAddress`, with the `Origin` a browser on
 * the host page would send (the SDK cannot set it: it is a forbidden header in browsers).
 */
export function fetchFrom(
  localAddress: string,
  origin: string,
): (url: string, init: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const target = new URL(url);
    const headers: Record<string, string> = { origin };
    for (const [name, value] of new Headers(init.headers ?? {})) headers[name] = value;
    const answer = await httpCall({
      port: Number(target.port),
      method: init.method ?? 'GET',
      path: `${target.pathname}${target.search}`,
      headers,
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
      localAddress,
    });
    return new Response(answer.status === 204 ? null : answer.text, {
      status: answer.status,
      headers: answer.headers,
    });
  };
}
