/**
 * The CLI end of the control channel (see protocol.ts): one request, one answer.
 */
import { lstat } from 'node:fs/promises';
import { connect } from 'node:net';
import type { ControlReply, ControlRequest } from './protocol.js';

/** The socket exists but must not be used, or the server broke off. */
export class ControlClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlClientError';
  }
}

/**
 * Refuses a socket this user does not own or that others may open: whoever planted it could
 * answer "revoked" to a revocation that never happened, or read what an export returns.
 */
async function checkOwnership(path: string): Promise<boolean> {
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    // Not lstatSync: a synchronous stat of a socket leaves Node's shared stat buffer saying
    // "socket", and fs.realpathSync in the module loader can misread it on its cached paths —
    // a module imported afterwards (the database driver) then loads as an empty object.
    stat = await lstat(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return false;
    throw error;
  }
  if (!stat.isSocket()) throw new ControlClientError(`${path} is not a socket`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new ControlClientError(`${path} belongs to another user; run postern as its owner`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new ControlClientError(`${path} is open to other users; refusing to use it`);
  }
  return true;
}

/**
 * Sends `request` to the server listening at `path` and resolves with its reply, or `null` when
 * no server listens there (no socket, or one left by a server that died): the caller then works
 * on the database itself. `timeoutMs` bounds the whole exchange (0: no bound, for backups).
 */
export async function requestControl(
  path: string,
  request: ControlRequest,
  timeoutMs: number,
): Promise<ControlReply | null> {
  if (!(await checkOwnership(path))) return null;
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    let connected = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            socket.destroy();
            reject(new ControlClientError(`the server did not answer within ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
    const settle = () => clearTimeout(timer);
    socket.once('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      settle();
      // Refused: a socket file without a server (it died without cleaning up).
      if (!connected && (error.code === 'ECONNREFUSED' || error.code === 'ENOENT')) resolve(null);
      else reject(new ControlClientError(`control socket: ${error.message}`));
    });
    socket.once('end', () => {
      settle();
      const line = Buffer.concat(chunks).toString('utf8').trim();
      try {
        resolve(JSON.parse(line) as ControlReply);
      } catch {
        reject(
          new ControlClientError('the server closed the control connection without an answer'),
        );
      }
    });
  });
}
