/**
 * A site owner's assistant webhook, for the end-to-end assistant tests: a real `node:http` server
 * on 127.0.0.1 port 0 that records every call (raw body bytes, headers, parsed body), counts the
 * calls it holds open right now (so a concurrency cap can be checked at the receiving end), and
 * answers each call as the current {@link Behaviour} says — or holds it until the test answers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** The webhook body as a receiver parses it (SPEC §4 "Assistant", src/assistant/webhook.ts). */
export interface HookBody {
  readonly site_id: string;
  readonly assistant_id: string;
  readonly dialog_id: string;
  readonly visitor_id: string;
  readonly message: { readonly id: string; readonly seq: number; readonly text: string };
  readonly history: readonly { readonly sender: string; readonly text: string }[];
  readonly sent_at: number;
}

export interface HookCall {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The exact bytes received: what the signature must cover. */
  readonly raw: Buffer;
  /** `raw` parsed, or `null` when it is not JSON (requests to a redirect target, say). */
  readonly body: HookBody | null;
  readonly res: ServerResponse;
  /** The caller hung up before an answer was complete (Postern aborted the call). */
  readonly aborted: () => boolean;
  /** The exchange is over: answered, or the caller hung up. */
  readonly settled: () => boolean;
}

/** How a call is answered (or left open, for the test to answer through `call.res`). */
export type Behaviour = (call: HookCall) => void;

export interface WebhookServer {
  readonly url: string;
  readonly port: number;
  /** Every call so far, in arrival order. */
  readonly calls: readonly HookCall[];
  /** Calls open right now (received, not yet answered or hung up). */
  readonly open: () => number;
  /** The most calls ever open at once. */
  readonly maxOpen: () => number;
  /** Calls made for one dialog. */
  callsFor(dialogId: string): HookCall[];
  /** Replaces how later calls are answered. */
  behave(behaviour: Behaviour): void;
  close(): Promise<void>;
}

export const json =
  (payload: unknown, status = 200): Behaviour =>
  ({ res }) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(payload));
  };

/** Leaves every call open: the test answers it later, or Postern hangs up. */
export const hold: Behaviour = () => undefined;

/** Answers `call` with `text` unless the caller already hung up. */
export function answer(call: HookCall, text: string): void {
  if (call.res.destroyed || call.res.writableEnded) return;
  json({ text })(call);
}

/** Whether `X-Postern-Signature` is `sha256=<hex HMAC-SHA256(secret, raw body)>`. */
export function signatureValid(call: HookCall, secret: string): boolean {
  const header = call.headers['x-postern-signature'];
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(call.raw).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function parse(raw: Buffer): HookBody | null {
  try {
    return JSON.parse(raw.toString('utf8')) as HookBody;
  } catch {
    return null;
  }
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startWebhook(initial: Behaviour = hold): Promise<WebhookServer> {
  const calls: HookCall[] = [];
  let behaviour = initial;
  let open = 0;
  let maxOpen = 0;

  const server = createServer((req, res) => {
    open += 1;
    maxOpen = Math.max(maxOpen, open);
    let done = false;
    let aborted = false;
    // 'close' fires once per response: after a complete answer, or when the caller hangs up.
    res.once('close', () => {
      done = true;
      aborted = !res.writableFinished;
      open -= 1;
    });
    // Writing to a connection the caller reset is the caller's choice, not a test failure.
    res.on('error', () => undefined);
    void readAll(req)
      .then((raw) => {
        const call: HookCall = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          raw,
          body: parse(raw),
          res,
          aborted: () => aborted,
          settled: () => done,
        };
        calls.push(call);
        behaviour(call);
      })
      .catch(() => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    calls,
    open: () => open,
    maxOpen: () => maxOpen,
    callsFor: (dialogId) => calls.filter((call) => call.body?.dialog_id === dialogId),
    behave(next) {
      behaviour = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
