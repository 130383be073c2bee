import { CLOSE_POLICIES, type Revival } from '@postern/protocol';
import { describe, expect, it } from 'vitest';
import type { DisconnectInfo } from '../../src/client/types.js';
import { statusOf, stopReason } from '../../src/ui/status.js';

function closed(code: number, reason = '', revival: Revival | null = 'never'): DisconnectInfo {
  return { code, reason, source: 'server', attempt: 1, nextRetryMs: null, revival };
}

describe('statusOf', () => {
  it('says nothing while connected or before the first open', () => {
    expect(statusOf('connected', undefined, 0)).toBeNull();
    expect(statusOf('disconnected', undefined, 3)).toBeNull();
  });

  it('tells connecting from offline, with the queued messages', () => {
    expect(statusOf('connecting', undefined, 0)).toEqual({ kind: 'busy', text: 'connecting' });
    const interrupted = { ...closed(1006), nextRetryMs: 500, revival: null };
    expect(statusOf('connecting', interrupted, 0)).toEqual({ kind: 'busy', text: 'reconnecting' });
    expect(statusOf('connecting', interrupted, 2)).toEqual({ kind: 'offline', pending: 2 });
  });

  it('offers a retry only where a user action may restart the client', () => {
    expect(statusOf('stopped', closed(4003), 0)).toEqual({
      kind: 'stopped',
      text: 'notAvailable',
      retry: false,
    });
    expect(statusOf('stopped', closed(4005, '', 'user_action_or_visible'), 0)).toMatchObject({
      text: 'tooManyTabs',
      retry: true,
    });
    expect(statusOf('stopped', closed(4008, 'retry=30', 'user_action'), 0)).toMatchObject({
      text: 'tooManyAttempts',
      retry: true,
    });
  });
});

describe('stopReason', () => {
  it('says "not available on this site" for a refused origin, by reason or by code', () => {
    const refused = { ...closed(4003, 'origin_not_allowed'), source: 'token' as const };
    expect(stopReason(refused)).toBe('notAvailable');
    expect(stopReason(closed(4003))).toBe('notAvailable');
  });

  it('has a reason of its own for each terminal outcome', () => {
    expect(stopReason(closed(1000))).toBe('ended');
    expect(stopReason(closed(4002, 'unauthorized'))).toBe('signInFailed');
    expect(stopReason(closed(4006, 'site_revoked'))).toBe('revoked');
    expect(stopReason(closed(4004, '', 'user_action'))).toBe('conversationEnded');
  });

  it('reads every client-bug close as "something went wrong"', () => {
    const bugs = CLOSE_POLICIES.filter((policy) => policy.clientBug);
    expect(bugs.length).toBeGreaterThan(3);
    for (const policy of bugs) expect(stopReason(closed(policy.code ?? 0))).toBe('broken');
  });

  it('covers every code whose policy can stop the client', () => {
    const stopping = CLOSE_POLICIES.filter(
      (policy) =>
        ['stop', 'reset', 'retry_once'].includes(policy.action) || policy.maxAttempts !== undefined,
    );
    for (const policy of stopping) {
      expect(stopReason(closed(policy.code ?? 0)), policy.name).not.toBe('unavailable');
    }
    expect(stopReason(undefined)).toBe('unavailable');
  });
});
