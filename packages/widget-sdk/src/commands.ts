/** The commands of the script-tag API, `Postern('<command>', …)` (SPEC §7). */
export const EMBED_COMMANDS = Object.freeze([
  'open',
  'close',
  'toggle',
  'on',
  'off',
  'shutdown',
  'locale',
] as const);

export type EmbedCommand = (typeof EMBED_COMMANDS)[number];

/** The events of the script-tag API, `Postern('on', '<event>', listener)` (SPEC §7). */
export const EMBED_EVENTS = Object.freeze([
  'ready',
  'state',
  'message',
  'unread',
  'error',
] as const);

export type EmbedEvent = (typeof EMBED_EVENTS)[number];

/** Whether `value` names a script-tag command. */
export function isEmbedCommand(value: unknown): value is EmbedCommand {
  return typeof value === 'string' && (EMBED_COMMANDS as readonly string[]).includes(value);
}

/** Whether `value` names a script-tag event. */
export function isEmbedEvent(value: unknown): value is EmbedEvent {
  return typeof value === 'string' && (EMBED_EVENTS as readonly string[]).includes(value);
}
