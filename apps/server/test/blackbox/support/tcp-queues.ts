/**
 * How many bytes of a loopback TCP connection sit in the kernel, read from `/proc/net/tcp`
 * (Linux): the receiver's unread queue and the sender's unacknowledged queue. A test that stops
 * reading a socket uses them to know when the server *must* be holding bytes of its own, without
 * looking inside the server.
 */
import { existsSync, readFileSync } from 'node:fs';

export const TCP_TABLE = '/proc/net/tcp';

/** Whether the kernel's TCP table can be read here. */
export const canReadTcpTable = (): boolean => existsSync(TCP_TABLE);

interface Row {
  readonly localPort: number;
  readonly remotePort: number;
  readonly txQueue: number;
  readonly rxQueue: number;
}

function rows(): Row[] {
  const lines = readFileSync(TCP_TABLE, 'latin1').split('\n').slice(1);
  const out: Row[] = [];
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    const [local, remote, , queues] = fields.slice(1, 5);
    if (!local || !remote || !queues) continue;
    const [tx = '0', rx = '0'] = queues.split(':');
    out.push({
      localPort: Number.parseInt(local.split(':')[1] ?? '0', 16),
      remotePort: Number.parseInt(remote.split(':')[1] ?? '0', 16),
      txQueue: Number.parseInt(tx, 16),
      rxQueue: Number.parseInt(rx, 16),
    });
  }
  return out;
}

/**
 * Bytes the kernel holds between a server on `serverPort` and the client on `clientPort`, in the
 * server-to-client direction: the client's unread receive queue plus the server's send queue.
 */
export function kernelQueued(serverPort: number, clientPort: number): number {
  let total = 0;
  for (const row of rows()) {
    if (row.localPort === clientPort && row.remotePort === serverPort) total += row.rxQueue;
    if (row.localPort === serverPort && row.remotePort === clientPort) total += row.txQueue;
  }
  return total;
}

/** Bytes on the wire for a server frame (unmasked) with a payload of `length` bytes. */
export function wireBytes(length: number): number {
  return length + (length < 126 ? 2 : length < 65_536 ? 4 : 10);
}
