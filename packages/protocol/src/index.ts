/**
 * `@postern/protocol`: the code form of Postern's wire contract. Zero dependencies, no DOM and no
 * Node APIs, so the server, the browser SDK and tests share one source of truth.
 *
 * @packageDocumentation
 */
export * from './backoff.js';
export * from './codes.js';
export { type FieldRule, isRawObject, type RawObject } from './fields.js';
export type * from './frames.js';
export * from './http.js';
export * from './limits.js';
export {
  type BadRequestProblem,
  CLIENT_FRAME_TYPES,
  type ClientFrameResult,
  decodeClientFrame,
  type InvalidFrameProblem,
  parseClientFrame,
} from './parse-client.js';
export {
  decodeServerFrame,
  FRAME_ERROR_CODES,
  HANDOFF_STATES,
  parseServerFrame,
  SENDERS,
  SERVER_FRAME_TYPES,
  type ServerFrameResult,
} from './parse-server.js';
export {
  decodeServerFrameLean,
  type LeanServerFrameResult,
  parseHistoryPageLean,
  parseServerFrameLean,
  parseSessionResponseLean,
} from './parse-server-lean.js';
export { checkMessageText, isId, isNonNegativeInteger, isUuid, type TextProblem } from './text.js';
