/**
 * Field readers shared by the frame validators. Each reads one own property of an object that
 * came from `JSON.parse` (so: untrusted) and either returns a value of the right type or throws a
 * {@link FieldProblem} that the validator turns into its result.
 */
import { checkMessageText, isId, isNonNegativeInteger, isUuid, type TextProblem } from './text.js';

/** Untrusted object as it came from `JSON.parse`. */
export type RawObject = Readonly<Record<string, unknown>>;

/** What was wrong with a field: `missing`, `type`, `format`, or a text rule. */
export type FieldRule = 'missing' | 'type' | 'format' | 'not_allowed' | TextProblem;

/** A field that broke a rule; internal to validators, never sent to clients. */
export class FieldProblem extends Error {
  constructor(
    readonly field: string,
    readonly rule: FieldRule,
  ) {
    super(`${field}: ${rule}`);
    this.name = 'FieldProblem';
  }
}

// `__proto__` and `constructor` keys are the raw material of prototype pollution in whatever
// code later merges or spreads the object; a frame carrying them anywhere is refused.
const POISONED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor']);

/** A plain object: not null, not an array. */
export function isRawObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The first poisoned key found anywhere in `value`, or `null`. Iterative, so nesting depth (bounded
 * only by the frame size) cannot overflow the stack.
 */
export function findPoisonedKey(value: unknown): string | null {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current !== 'object' || current === null) continue;
    for (const key of Object.keys(current)) {
      if (POISONED_KEYS.has(key)) return key;
      pending.push((current as RawObject)[key]);
    }
  }
  return null;
}

function own(object: RawObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function required(object: RawObject, key: string): unknown {
  const value = own(object, key);
  if (value === undefined) throw new FieldProblem(key, 'missing');
  return value;
}

export function readString(object: RawObject, key: string, maxLength = Infinity): string {
  const value = required(object, key);
  if (typeof value !== 'string') throw new FieldProblem(key, 'type');
  if (value.length === 0 || value.length > maxLength) throw new FieldProblem(key, 'format');
  return value;
}

export function readId(object: RawObject, key: string): string {
  const value = required(object, key);
  if (typeof value !== 'string') throw new FieldProblem(key, 'type');
  if (!isId(value)) throw new FieldProblem(key, 'format');
  return value;
}

export function readUuid(object: RawObject, key: string): string {
  const value = required(object, key);
  if (typeof value !== 'string') throw new FieldProblem(key, 'type');
  if (!isUuid(value)) throw new FieldProblem(key, 'format');
  return value;
}

/** A safe integer ≥ 0; floats, negatives, NaN, ±Infinity and numbers past 2^53 − 1 are refused. */
export function readCount(object: RawObject, key: string): number {
  const value = required(object, key);
  if (typeof value !== 'number') throw new FieldProblem(key, 'type');
  if (!isNonNegativeInteger(value)) throw new FieldProblem(key, 'format');
  return value;
}

export function readBoolean(object: RawObject, key: string): boolean {
  const value = required(object, key);
  if (typeof value !== 'boolean') throw new FieldProblem(key, 'type');
  return value;
}

export function readEnum<T extends string>(
  object: RawObject,
  key: string,
  allowed: readonly T[],
): T {
  const value = required(object, key);
  if (typeof value !== 'string') throw new FieldProblem(key, 'type');
  if (!(allowed as readonly string[]).includes(value)) throw new FieldProblem(key, 'not_allowed');
  return value as T;
}

export function readObject(object: RawObject, key: string): RawObject {
  const value = required(object, key);
  if (!isRawObject(value)) throw new FieldProblem(key, 'type');
  return value;
}

/** Message text: the rules of {@link checkMessageText}; returns the trimmed text. */
export function readMessageText(object: RawObject, key: string): string {
  const value = required(object, key);
  if (typeof value !== 'string') throw new FieldProblem(key, 'type');
  const checked = checkMessageText(value);
  if (!checked.ok) throw new FieldProblem(key, checked.problem);
  return checked.text;
}

/** Reads `key` with `read` when present (and not `null`); `undefined` when absent. */
export function optional<T>(
  object: RawObject,
  key: string,
  read: (object: RawObject, key: string) => T,
): T | undefined {
  const value = own(object, key);
  return value === undefined || value === null ? undefined : read(object, key);
}
