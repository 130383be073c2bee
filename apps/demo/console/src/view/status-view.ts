/**
 * The header's connection line: state in words (a polite live region) and a Reconnect button
 * while the console is waiting or stopped.
 */
import type { ConnectionState } from '../connection.js';
import { connectionText } from '../wording.js';
import { button, element, setShown } from './element.js';

export interface StatusView {
  readonly element: HTMLElement;
  render(state: ConnectionState): void;
}

export function createStatusView(onReconnect: () => void): StatusView {
  const text = element('span', { className: 'status-text', text: 'Not connected' });
  const reconnect = button('Reconnect now', onReconnect, { className: 'secondary' });
  setShown(reconnect, false);
  const root = element('div', { className: 'status', attrs: { 'data-state': 'idle' } }, [
    element('span', { className: 'status-dot', attrs: { 'aria-hidden': 'true' } }),
    element('span', { attrs: { role: 'status' } }, [text]),
    reconnect,
  ]);
  return {
    element: root,
    render(state) {
      root.dataset['state'] = state.kind;
      text.textContent = connectionText(state);
      setShown(reconnect, state.kind === 'waiting' || state.kind === 'stopped');
    },
  };
}
