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

/** Whether `value` names a script-tag command. */
export function isEmbedCommand(value: unknown): value is EmbedCommand {
  return typeof value === 'string' && (EMBED_COMMANDS as readonly string[]).includes(value);
}
