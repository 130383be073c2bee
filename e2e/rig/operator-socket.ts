/**
 * An operator on `/v1/ws/app` driven from the test process with a real `ws` client, for tests
 * that need an operator without the console page (or one that survives a server restart).
 */
import WebSocket from 'ws';

export type Frame = Record<string, unknown>;

/** The operator console's origin (`POSTERN_APP_ORIGINS`); operator sockets here send it. */
export const CONSOLE_ORIGIN = 'http://console.example';

/** An operator console socket: sends frames and waits for the ones it needs. */
export interface Operator {
  send(frame: Frame): void;
  waitFor(predicate: (frame: Frame) => boolean, what: string): Promise<Frame>;
  /** Every frame received so far, oldest first. */
  readonly frames: readonly Frame[];
  close(): void;
}

export async function connectOperator(
  server: { readonly port: number },
  token: string,
  origin = CONSOLE_ORIGIN,
): Promise<Operator> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ws/app`, { origin });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const wake of [...waiters]) wake();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const operator: Operator = {
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    waitFor: (predicate, what) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`operator: timed out waiting for ${what}`));
        }, 10_000);
        const check = () => {
          const found = frames.find(predicate);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      }),
    close: () => ws.close(),
  };
  operator.send({ type: 'auth', token });
  await operator.waitFor((frame) => frame['type'] === 'ready', 'ready');
  return operator;
}
