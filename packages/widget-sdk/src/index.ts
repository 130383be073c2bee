/**
 * `@postern/widget-sdk`: the client side of Postern. Importing it touches neither `window` nor
 * `document`, so it is safe in Node and during server-side rendering.
 *
 * @packageDocumentation
 */

export type { ChatMessage, ClientFrame, ServerFrame } from '@postern/protocol';
export {
  CloseCode,
  type ClosePolicy,
  closePolicy,
  type ReconnectPlan,
  reconnectPlan,
} from '@postern/protocol';
export { EMBED_COMMANDS, type EmbedCommand, isEmbedCommand } from './commands.js';
export { SDK_VERSION } from './version.js';
