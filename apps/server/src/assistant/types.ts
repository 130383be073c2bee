/**
 * The assistant seam (SPEC §4 "Assistant"): a {@link Responder} answers one visitor message while
 * no operator holds the dialog. The chat layer builds an {@link AssistantRequest} from a committed
 * visitor message, the runner calls the responder, and the chat layer turns what comes back into
 * an `assistant` message (a reply) or a `system` message (a failure).
 */
import type { Sender } from '@postern/protocol';

/** Entries of {@link AssistantRequest.history} a responder is given at most; older ones are cut. */
export const ASSISTANT_HISTORY_MAX = 10;

/** The visitor message being answered, as committed (server-assigned id, seq and time). */
export interface AssistantMessage {
  readonly id: string;
  readonly seq: number;
  /** Already checked by `checkMessageText`: trimmed, 1..4000 UTF-16 code units. */
  readonly text: string;
  /** Commit time, ms since the epoch. */
  readonly ts: number;
}

/** One earlier message of the dialog, oldest first. */
export interface AssistantHistoryEntry {
  readonly sender: Sender;
  readonly text: string;
  readonly ts: number;
}

/** What a responder is asked to answer. */
export interface AssistantRequest {
  readonly siteId: string;
  /** The site token's `assistant_id` claim: which assistant (persona, bot) the site configured. */
  readonly assistantId: string;
  readonly dialogId: string;
  readonly visitorId: string;
  readonly message: AssistantMessage;
  /**
   * The last few messages before `message`, oldest first, at most {@link ASSISTANT_HISTORY_MAX}
   * (responders cut longer ones, keeping the newest).
   */
  readonly history: readonly AssistantHistoryEntry[];
}

/** An answer to post as an `assistant` message. */
export interface AssistantReply {
  /** Plain text, never HTML; the runner checks it with `checkMessageText` before delivery. */
  readonly text: string;
  /** The answer suggests talking to a person; the chat layer may show a "talk to a person" hint. */
  readonly offerHuman?: boolean;
}

/**
 * Answers visitor messages.
 *
 * `respond` resolves to a reply, or `null` when there is nothing to say. It rejects with a
 * `ResponderError` for a failure the visitor should hear about (the runner reports its `reason`);
 * anything else it throws counts as `internal`. It must stop promptly once `signal` aborts (the
 * runner aborts on take-over and on shutdown, and waits for the promise to settle).
 */
export interface Responder {
  respond(request: AssistantRequest, signal: AbortSignal): Promise<AssistantReply | null>;
}

/** The `fetch` a responder is given: the global one in production, any fake in tests. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;
