/**
 * Live, authenticated sockets. Bounded by `POSTERN_MAX_SOCKETS`; entries are removed on close.
 * A revocation closes every matching socket synchronously (SPEC: within one second).
 */
import type { Revocation } from '../store/types.js';

/** What a registered socket is bound to, for revocation and fan-out. */
export interface LiveSocket {
  readonly id: string;
  readonly kind: 'visitor' | 'operator';
  /** The current token's jti (changes on in-band refresh). */
  jti: string;
  /** The current visitor token's `sjti` (changes on in-band refresh too). */
  siteJti?: string;
  readonly siteId?: string;
  readonly visitorId?: string;
  readonly operatorId?: string;
  readonly dialogId?: string;
  /** Closes the socket with the code and reason of the revocation. */
  revoked(revocation: Revocation): void;
}

export interface SocketRegistry {
  add(socket: LiveSocket): void;
  remove(id: string): void;
  /**
   * Closes every socket the revocation covers; answers how many. A socket whose close throws does
   * not shield the others: every covered socket is tried, then the first error is rethrown.
   */
  applyRevocation(revocation: Revocation): number;
  readonly size: number;
  all(): IterableIterator<LiveSocket>;
}

function covers(socket: LiveSocket, { kind, target }: Revocation): boolean {
  switch (kind) {
    case 'jti':
      return socket.jti === target || socket.siteJti === target;
    case 'site':
      return socket.siteId === target;
    case 'visitor':
      return socket.visitorId === target;
  }
}

export function createSocketRegistry(): SocketRegistry {
  const sockets = new Map<string, LiveSocket>();
  return {
    add: (socket) => void sockets.set(socket.id, socket),
    remove: (id) => void sockets.delete(id),
    applyRevocation(revocation) {
      let closed = 0;
      const failures: unknown[] = [];
      for (const socket of [...sockets.values()]) {
        if (!covers(socket, revocation)) continue;
        try {
          socket.revoked(revocation);
          closed++;
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
      return closed;
    },
    get size() {
      return sockets.size;
    },
    all: () => sockets.values(),
  };
}
