/**
 * Operator presence for the handoff idle rule (SPEC §4): a held dialog returns to `requested`
 * after POSTERN_HANDOFF_IDLE_MS with no socket of its holder. One timer per absent holder, never
 * one per dialog; every entry is removed when its holder returns, its timer fires, or it holds
 * nothing any more. An operator who holds nothing is never timed: leaving costs no memory.
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
  /** Who holds a dialog now (`null`: nobody), after every handoff change and at start. */
  holderChanged(dialogId: string, holderId: string | null): void;
  /** Clears every timer (shutdown). */
  close(): void;
  readonly tracked: number;
}

export function createPresence(options: PresenceOptions): Presence {
  const sockets = new Map<string, number>();
  const absent = new Map<string, NodeJS.Timeout>();
  /** Holder of each held dialog, and how many each holder has: bounded by held dialogs. */
  const holderOf = new Map<string, string>();
  const holdings = new Map<string, number>();

  function timeAbsence(operatorId: string): void {
    if (absent.has(operatorId)) return;
    const timer = setTimeout(() => {
      absent.delete(operatorId);
      options.onAbsent(operatorId);
    }, options.idleMs);
    timer.unref();
    absent.set(operatorId, timer);
  }

  function forgetAbsence(operatorId: string): void {
    const timer = absent.get(operatorId);
    if (!timer) return;
    clearTimeout(timer);
    absent.delete(operatorId);
  }

  return {
    online(operatorId) {
      sockets.set(operatorId, (sockets.get(operatorId) ?? 0) + 1);
      forgetAbsence(operatorId);
    },
    offline(operatorId) {
      const left = (sockets.get(operatorId) ?? 1) - 1;
      if (left > 0) {
        sockets.set(operatorId, left);
        return;
      }
      sockets.delete(operatorId);
      if (holdings.has(operatorId)) timeAbsence(operatorId);
    },
    holderChanged(dialogId, holderId) {
      const previous = holderOf.get(dialogId) ?? null;
      if (previous === holderId) return;
      if (previous !== null) {
        holderOf.delete(dialogId);
        const left = (holdings.get(previous) ?? 1) - 1;
        if (left > 0) holdings.set(previous, left);
        else {
          holdings.delete(previous);
          forgetAbsence(previous);
        }
      }
      if (holderId === null) return;
      holderOf.set(dialogId, holderId);
      holdings.set(holderId, (holdings.get(holderId) ?? 0) + 1);
      // A take that committed after its socket closed (or a holder loaded at start) has no
      // socket to wait for: its absence counts from now.
      if (!sockets.has(holderId)) timeAbsence(holderId);
    },
    close() {
      for (const timer of absent.values()) clearTimeout(timer);
      absent.clear();
      sockets.clear();
      holderOf.clear();
      holdings.clear();
    },
    get tracked() {
      return sockets.size + absent.size;
    },
  };
}
