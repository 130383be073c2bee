/**
 * `@postern/widget-sdk`: the client side of Postern. Importing it touches neither `window` nor
 * `document`, so it is safe in Node and during server-side rendering.
 *
 * @packageDocumentation
 */

export type {
  ChatMessage,
  ClientFrame,
  HandoffState,
  HandoffStatus,
  Revival,
  Sender,
  ServerFrame,
  TypingState,
} from '@postern/protocol';
export {
  CloseCode,
  type ClosePolicy,
  closePolicy,
  type ReconnectPlan,
  reconnectPlan,
} from '@postern/protocol';
export { PosternClient } from './client/client.js';
export type { DisconnectSource } from './client/close-policy.js';
export { PROBE_TIMEOUT_MS } from './client/connection.js';
export type { Clock } from './client/environment.js';
export {
  PosternError,
  type PosternErrorCode,
  TokenError,
  type TokenErrorCode,
} from './client/errors.js';
export {
  OUTBOX_MAX_AGE_MS,
  OUTBOX_MAX_BYTES,
  OUTBOX_MAX_MESSAGES,
  type OutboxEntry,
  type OutboxFailure,
  type OutboxStatus,
} from './client/outbox.js';
export type { PageSignal, PageSignals } from './client/page.js';
export type { Resynced } from './client/resume.js';
export type { FetchLike, LockManagerLike } from './client/session.js';
export type { StorageChoice, StorageLike } from './client/storage.js';
export type { GetToken } from './client/tokens.js';
export {
  CONNECT_TIMEOUT_MS,
  type WebSocketConstructor,
  type WebSocketLike,
} from './client/transport.js';
export type {
  ConnectionState,
  DisconnectInfo,
  PosternClientOptions,
  PosternEvents,
  ReadyInfo,
  StateChange,
  TypingInfo,
} from './client/types.js';
export {
  EMBED_COMMANDS,
  EMBED_EVENTS,
  type EmbedCommand,
  type EmbedEvent,
  isEmbedCommand,
  isEmbedEvent,
} from './commands.js';
export { ChatWidget, type WidgetEvents, type WidgetOptions } from './ui/widget.js';
export { SDK_VERSION } from './version.js';
