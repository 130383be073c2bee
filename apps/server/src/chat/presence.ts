/**
 * Operator presence for the handoff idle rule (SPEC §4): a held dialog returns to `requested`
 * after POSTERN_HANDOFF_IDLE_MS with no socket of its holder. One timer per absent holder, never
 * one per dialog; every entry is removed when its holder returns or its timer fires.
 */

export interface PresenceOptions {
  readonly idleMs: number;
  /** Called once a holder has had no socket for `idleMs`. */
  readonly onAbsent: (operatorId: string) => void;
}

export interface Presence {
  /** An operator socket became ready. */
  online(operatorId: string): void;
  /** An operator socket closed. */
  offline(operatorId: string): void;
  /** Clears every timer (shutdown). */
  close(): void;
  readonly tracked: number;
}

export function createPresence(options: PresenceOptions): Presence {
  const sockets = new Map<string, number>();
  const absent = new Map<string, NodeJS.Timeout>();

  return {
    online(operatorId) {
      sockets.set(operatorId, (sockets.get(operatorId) ?? 0) + 1);
      const timer = absent.get(operatorId);
      if (timer) {
        clearTimeout(timer);
        absent.delete(operatorId);
      }
    },
    offline(operatorId) {
      const left = (sockets.get(operatorId) ?? 1) - 1;
      if (left > 0) {
        sockets.set(operatorId, left);
        return;
      }
      sockets.delete(operatorId);
      if (absent.has(operatorId)) return;
      const timer = setTimeout(() => {
        absent.delete(operatorId);
        options.onAbsent(operatorId);
      }, options.idleMs);
      timer.unref();
      absent.set(operatorId, timer);
    },
    close() {
      for (const timer of absent.values()) clearTimeout(timer);
      absent.clear();
      sockets.clear();
    },
    get tracked() {
      return sockets.size + absent.size;
    },
  };
}
