/**
 * Shared pieces of the assistant suites: request factories, a real HTTP server on 127.0.0.1
 * port 0 standing in for a site owner's webhook, and a hand-resolved responder for the runner.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AssistantReply, AssistantRequest, Responder } from '../../src/assistant/types.js';

let counter = 0;

/** A valid request; each call gets fresh message and dialog ids unless given. */
export function makeRequest(
  overrides: Partial<Omit<AssistantRequest, 'message'>> & { text?: string } = {},
): AssistantRequest {
  counter += 1;
  const { text = 'Hello there', ...rest } = overrides;
  return {
    siteId: 'site_shop',
    assistantId: 'asst_demo',
    dialogId: `dlg_${counter}`,
    visitorId: 'vis_1',
    message: { id: `msg_${counter}`, seq: counter, text, ts: 1_700_000_000_000 + counter },
    history: [],
    ...rest,
  };
}

export interface LocalServer {
  readonly url: string;
  readonly port: number;
  /** Requests received so far. */
  readonly received: () => number;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1:0 running `handler`; `close` also drops kept-alive sockets. */
export async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<LocalServer> {
  let received = 0;
  const server = createServer((req, res) => {
    received += 1;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The whole request body, as bytes. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Resolves once `predicate()` holds, polling every 5 ms; rejects after a generous deadline. */
export async function until(predicate: () => boolean, deadlineMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > deadlineMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface PendingCall {
  readonly request: AssistantRequest;
  readonly signal: AbortSignal;
  resolve(reply: AssistantReply | null | unknown): void;
  reject(error: unknown): void;
}

/**
 * A responder whose calls wait until the test settles them. Like a well-behaved responder, a
 * call rejects with the signal's reason once its signal aborts.
 */
export function controlledResponder(): Responder & { readonly calls: PendingCall[] } {
  const calls: PendingCall[] = [];
  return {
    calls,
    respond(request, signal) {
      return new Promise<AssistantReply | null>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        calls.push({
          request,
          signal,
          resolve: (reply) => resolve(reply as AssistantReply | null),
          reject,
        });
      });
    },
  };
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}
