/**
 * Page events that tell a client to look at its connection again: the network came back, or the
 * page became visible again (a tab switch, a bfcache restore). Background tabs throttle timers,
 * so these are the moments a stale socket is found out.
 */

/**
 * `online`: the network returned. `offline`: the browser lost it. `visible`: the page shows again
 * (`visibilitychange`, `pageshow`).
 */
export type PageSignal = 'online' | 'offline' | 'visible';

export interface PageSignals {
  /** Starts listening; returns the function that stops. */
  listen(notify: (signal: PageSignal) => void): () => void;
}

type Target = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;

/**
 * Signals from a browser window and document; `null` outside a browser (Node, SSR, workers).
 * Looked up when called, never at import.
 */
export function browserPage(
  win: Partial<Target> | undefined = globalThis,
  doc: (Target & { readonly visibilityState: string }) | undefined = globalThis.document,
): PageSignals | null {
  if (!win?.addEventListener || !win.removeEventListener || !doc) return null;
  const page = win as Target;
  return {
    listen(notify) {
      const online = () => notify('online');
      const offline = () => notify('offline');
      const visible = () => {
        if (doc.visibilityState === 'visible') notify('visible');
      };
      // Called as methods of their targets: a detached `addEventListener` throws in browsers.
      const wire = (method: keyof Target) => {
        page[method]('online', online);
        page[method]('offline', offline);
        page[method]('pageshow', visible);
        doc[method]('visibilitychange', visible);
      };
      wire('addEventListener');
      return () => wire('removeEventListener');
    },
  };
}
