/**
 * A small typed event emitter. Listeners belong to the application: one that throws must never
 * unwind into the client's state machine, so every call is guarded and the exception is reported
 * to `error` listeners — or to the console when there are none, or when an `error` listener throws.
 */
import { PosternError } from './errors.js';

export type Listener<T> = (payload: T) => void;

export class Emitter<Events extends { error: PosternError }> {
  readonly #listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners[event];
    if (!set) {
      set = new Set();
      this.#listeners[event] = set;
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners[event]?.delete(listener);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    // A copy: a listener that adds or removes listeners must not change this dispatch.
    for (const listener of [...(this.#listeners[event] ?? [])]) {
      try {
        listener(payload);
      } catch (cause) {
        if (event === 'error') console.error(cause);
        else
          this.report(
            new PosternError('ERR_LISTENER', `a "${String(event)}" listener threw`, { cause }),
          );
      }
    }
  }

  /** Hands an error to `error` listeners, or to the console when nobody listens. */
  report(error: PosternError): void {
    if (this.#listeners.error?.size) this.emit('error', error as Events['error']);
    else console.error(error);
  }
}
