import { describe, expect, it } from 'vitest';
import { browserPage, type PageSignal } from '../../src/client/page.js';

function fakeBrowser() {
  const win = new EventTarget();
  const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  return { win, doc };
}

describe('browserPage', () => {
  it('reports online, visibilitychange to visible and pageshow', () => {
    const { win, doc } = fakeBrowser();
    const signals: PageSignal[] = [];
    const stop = browserPage(win, doc)?.listen((signal) => signals.push(signal));
    win.dispatchEvent(new Event('online'));
    doc.dispatchEvent(new Event('visibilitychange'));
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange')); // hidden: nothing to check
    doc.visibilityState = 'visible';
    win.dispatchEvent(new Event('pageshow')); // a back/forward-cache restore
    expect(signals).toEqual(['online', 'visible', 'visible']);
    stop?.();
    win.dispatchEvent(new Event('online'));
    expect(signals).toHaveLength(3);
  });

  it('is null outside a browser', () => {
    expect(browserPage()).toBeNull(); // Node: no addEventListener on globalThis, no document
    expect(browserPage(new EventTarget(), undefined)).toBeNull();
  });
});
