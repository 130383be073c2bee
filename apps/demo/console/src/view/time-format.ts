/**
 * Short, locale-aware times for the list and the messages: the time of day for today, the date
 * and time otherwise. Formatters are built once (they are costly to create).
 */
const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

export function formatTime(ms: number, nowMs: number): string {
  const date = new Date(ms);
  const sameDay = new Date(nowMs).toDateString() === date.toDateString();
  return (sameDay ? TIME : DATE_TIME).format(date);
}

/** A `<time>` element: readable text, machine-readable `datetime`. */
export function timeElement(ms: number, nowMs: number): HTMLTimeElement {
  const node = document.createElement('time');
  node.dateTime = new Date(ms).toISOString();
  node.textContent = formatTime(ms, nowMs);
  return node;
}
