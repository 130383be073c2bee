/**
 * Operator presence (SPEC §4 handoff idle rule): only holders are timed when they leave, a take
 * that lands after the holder's last socket closed is timed too, and nothing stays behind once an
 * operator holds nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPresence, type Presence } from '../../src/chat/presence.js';
import { waitFor } from '../support/ws-client.js';

const IDLE_MS = 30;
/** Long enough that an armed timer would have fired several times over. */
const QUIET_MS = IDLE_MS * 5;

let presence: Presence | undefined;
afterEach(() => presence?.close());

function track() {
  const absent: string[] = [];
  presence = createPresence({ idleMs: IDLE_MS, onAbsent: (id) => absent.push(id) });
  return { presence, absent };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('presence', () => {
  it('forgets an operator who holds nothing as soon as its last socket closes', async () => {
    const { presence, absent } = track();
    presence.online('op_a');
    presence.online('op_a');
    presence.offline('op_a');
    expect(presence.tracked).toBe(1);
    presence.offline('op_a');
    expect(presence.tracked).toBe(0);
    await pause(QUIET_MS);
    expect(absent).toEqual([]);
  });

  it('times a holder from its last socket, once, then forgets it', async () => {
    const { presence, absent } = track();
    presence.online('op_a');
    presence.holderChanged('d1', 'op_a');
    presence.holderChanged('d2', 'op_a');
    presence.offline('op_a');
    expect(presence.tracked).toBe(1);
    await waitFor(() => absent.length > 0, 'the absence', 2_000);
    expect(absent).toEqual(['op_a']);
    expect(presence.tracked).toBe(0);
  });

  it('times a take that committed after the holder left', async () => {
    const { presence, absent } = track();
    presence.online('op_a');
    presence.offline('op_a');
    expect(presence.tracked).toBe(0);
    presence.holderChanged('d1', 'op_a');
    expect(presence.tracked).toBe(1);
    await waitFor(() => absent.length > 0, 'the absence', 2_000);
    expect(absent).toEqual(['op_a']);
  });

  it('stops timing a holder that comes back, or that holds nothing any more', async () => {
    const { presence, absent } = track();
    presence.holderChanged('d1', 'op_back');
    presence.holderChanged('d2', 'op_released');
    expect(presence.tracked).toBe(2);
    presence.online('op_back');
    // Its dialog went to another operator (or was closed) while it was away.
    presence.holderChanged('d2', null);
    expect(presence.tracked).toBe(1);
    await pause(QUIET_MS);
    expect(absent).toEqual([]);
    presence.offline('op_back');
    await waitFor(() => absent.length > 0, 'the absence', 2_000);
    expect(absent).toEqual(['op_back']);
  });
});
