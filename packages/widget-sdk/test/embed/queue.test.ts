import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type Commandable,
  createPostern,
  drainQueue,
  isLive,
  runCommand,
} from '../../src/embed/queue.js';

/** The queue stub of SPEC §7, word for word, run against a fake window. */
const STUB =
  'window.Postern=window.Postern||function(){(window.Postern.q=window.Postern.q||[]).push(arguments)}';

function stubbed(): { Postern?: (...args: unknown[]) => void } {
  const window = {};
  new Function('window', STUB)(window);
  return window;
}

function fakeWidget() {
  const calls: unknown[][] = [];
  const target: Commandable = {
    open: () => calls.push(['open']),
    close: () => calls.push(['close']),
    toggle: () => calls.push(['toggle']),
    shutdown: () => calls.push(['shutdown']),
    setLocale: (tag) => calls.push(['locale', tag]),
    on: (event, listener) => calls.push(['on', event, listener]),
    off: (event, listener) => calls.push(['off', event, listener]),
  };
  return { target, calls };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('drainQueue', () => {
  it("returns the stub's calls in order, as arrays", () => {
    const window = stubbed();
    const listener = () => {};
    window.Postern?.('on', 'ready', listener);
    window.Postern?.('open');
    window.Postern?.('locale', 'ar');
    expect(drainQueue(window.Postern)).toEqual([
      ['on', 'ready', listener],
      ['open'],
      ['locale', 'ar'],
    ]);
  });

  it('is empty without a stub or with a malformed one', () => {
    expect(drainQueue(undefined)).toEqual([]);
    expect(drainQueue(stubbed().Postern)).toEqual([]);
    expect(drainQueue(Object.assign(() => {}, { q: 'open' }))).toEqual([]);
    expect(drainQueue(Object.assign(() => {}, { q: [null, 3, ['open']] }))).toEqual([['open']]);
  });
});

describe('runCommand', () => {
  it('runs every command of SPEC §7', () => {
    const { target, calls } = fakeWidget();
    const listener = () => {};
    for (const call of [
      ['open'],
      ['close'],
      ['toggle'],
      ['on', 'message', listener],
      ['off', 'message', listener],
      ['locale', 'ar'],
      ['shutdown'],
    ]) {
      runCommand(target, call);
    }
    expect(calls).toEqual([
      ['open'],
      ['close'],
      ['toggle'],
      ['on', 'message', listener],
      ['off', 'message', listener],
      ['locale', 'ar'],
      ['shutdown'],
    ]);
  });

  it('ignores unknown commands and bad arguments with a warning, never a throw', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { target, calls } = fakeWidget();
    runCommand(target, ['boot']);
    runCommand(target, ['on', 'click', () => {}]);
    runCommand(target, ['on', 'ready', 'not a function']);
    runCommand(target, ['locale', 42]);
    runCommand(target, []);
    runCommand(null, ['open']);
    expect(calls).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(6);
  });
});

describe('createPostern', () => {
  it('is marked live, so a second copy of widget.js stands down', () => {
    const postern = createPostern(fakeWidget().target, '1.2.3');
    expect(isLive(postern)).toBe(true);
    expect(postern.version).toBe('1.2.3');
    expect(isLive(stubbed().Postern)).toBe(false);
    expect(isLive(undefined)).toBe(false);
  });

  it('does nothing after shutdown', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { target, calls } = fakeWidget();
    const postern = createPostern(target, '1');
    postern('shutdown');
    postern('open');
    expect(calls).toEqual([['shutdown']]);
  });
});
