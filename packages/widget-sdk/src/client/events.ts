/**
 * A small typed event emitter. Listeners belong to the application: one that throws must never
 * unwind into the client's state machine, so every call is guarded and the exception is reported
 * to `error` listeners — or to the console when there are none, or when an `error` listener throws.
 */
import { PosternError } from './errors.js';

export type Listener<T> = (payload: T) => void;

export interface Emitter<Events extends { error: PosternError }> {
  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void;
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void;
  emit<K extends keyof Events>(event: K, payload: Events[K]): void;
  /** Hands an error to `error` listeners, or to the console when nobody listens. */
  report(error: PosternError): void;
}

export function createEmitter<Events extends { error: PosternError }>(): Emitter<Events> {
  const listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};
  const emitter: Emitter<Events> = {
    on(event, listener) {
      const set = listeners[event] ?? new Set();
      listeners[event] = set;
      set.add(listener);
      return () => emitter.off(event, listener);
    },
    off(event, listener) {
      listeners[event]?.delete(listener);
    },
    emit(event, payload) {
      // A copy: a listener that adds or removes listeners must not change this dispatch.
      for (const listener of [...(listeners[event] ?? [])]) {
        try {
          listener(payload);
        } catch (cause) {
          if (event === 'error') console.error(cause);
          else emitter.report(new PosternError('ERR_LISTENER', String(event), { cause }));
        }
      }
    },
    report(error) {
      if (listeners.error?.size) emitter.emit('error', error as Events['error']);
      else console.error(error);
    },
  };
  return emitter;
}
