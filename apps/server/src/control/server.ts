/**
 * The server end of the control channel (see protocol.ts): a Unix domain socket, mode 0600 from
 * the moment it exists, removed on close. One request line per connection, bounded in size and
 * time, answered with one line.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import {
  CONTROL_PATH_MAX_BYTES,
  CONTROL_REQUEST_MAX_BYTES,
  type ControlReply,
  type ControlRequest,
  parseControlRequest,
} from './protocol.js';

/** A request line must arrive this soon after connecting. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Connections served at once; the only clients are the owner's CLI runs. */
const MAX_CONNECTIONS = 16;

export interface ControlChannel {
  readonly path: string;
  /** Stops accepting, waits for requests in flight, removes the socket file. */
  close(): Promise<void>;
}

export interface ControlChannelOptions {
  readonly path: string;
  readonly handle: (request: ControlRequest) => Promise<ControlReply>;
  /** Told of every request served (its op and outcome), for the logs. */
  readonly onRequest?: (op: string, reply: ControlReply) => void;
}

/** Why the channel could not open; the server runs on without it. */
export class ControlChannelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlChannelError';
  }
}

/**
 * Removes a socket left by a server that died without closing (SIGKILL, power loss). Safe only
 * because the caller holds the database's exclusive lock: no other server can be behind it.
 * Anything that is not a socket is left alone and refused.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    // The promise API throughout: see client.ts on synchronous stats of sockets.
    stat = await lstat(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return;
    throw error;
  }
  if (!stat.isSocket()) throw new ControlChannelError(`${path} exists and is not a socket`);
  await unlink(path);
}

/** Binds with umask 0177, so the socket is never reachable by others, not even for an instant. */
function listenPrivately(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const previous = process.umask(0o177);
    try {
      // The bind happens synchronously inside listen() for a path in the primary process.
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
}

function serve(socket: Socket, options: ControlChannelOptions, track: (p: Promise<void>) => void) {
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  const answer = (reply: ControlReply) => {
    if (!socket.destroyed) socket.end(`${JSON.stringify(reply)}\n`);
  };
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    const newline = chunk.indexOf(0x0a);
    const part = newline === -1 ? chunk : chunk.subarray(0, newline);
    size += part.length;
    if (size > CONTROL_REQUEST_MAX_BYTES) {
      done = true;
      answer({ ok: false, error: 'invalid_request', message: 'request too large' });
      return;
    }
    chunks.push(part);
    if (newline === -1) return;
    done = true;
    // The request may take long (a backup): the idle timeout guards only its arrival.
    socket.setTimeout(0);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const request = parseControlRequest(parsed);
    if (request === null) {
      answer({ ok: false, error: 'invalid_request', message: 'not a control request' });
      return;
    }
    track(
      options.handle(request).then((reply) => {
        options.onRequest?.(request.op, reply);
        answer(reply);
      }),
    );
  });
}

/** Opens the control socket at `options.path`, replacing a stale one. */
export async function openControlChannel(options: ControlChannelOptions): Promise<ControlChannel> {
  const { path } = options;
  if (Buffer.byteLength(path) > CONTROL_PATH_MAX_BYTES) {
    throw new ControlChannelError(`${path} is longer than ${CONTROL_PATH_MAX_BYTES} bytes`);
  }
  await removeStaleSocket(path);
  const inFlight = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket, options, (promise) => {
      const settled = promise.catch(() => undefined).finally(() => inFlight.delete(settled));
      inFlight.add(settled);
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  await listenPrivately(server, path);
  // Belt and braces: whatever the platform did with the umask, the mode ends up 0600.
  await chmod(path, 0o600);
  const { ino } = await lstat(path);

  let closing: Promise<void> | null = null;
  return {
    path,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // A backup still running must finish before the caller closes the store under it.
        await Promise.all([...inFlight]);
        for (const socket of sockets) socket.destroy();
        await stopped;
        try {
          // Only our own socket: a file put there since is not ours to delete.
          if ((await lstat(path)).ino === ino) await unlink(path);
        } catch {
          // Already gone.
        }
      })();
      return closing;
    },
  };
}
