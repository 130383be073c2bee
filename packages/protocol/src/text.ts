/**
 * Message text and id rules (SPEC §4 "Frame handling"). Lengths are UTF-16 code units, which is
 * what `String.prototype.length` counts in every JavaScript runtime.
 */
import { ID_MAX_LENGTH, MESSAGE_TEXT_MAX } from './limits.js';

/** Why a text was refused. */
export type TextProblem = 'empty' | 'too_long' | 'control' | 'bidi_override' | 'lone_surrogate';

// C0 controls except \t (U+0009) and \n (U+000A): they corrupt terminals, logs and layouts.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000B-\u001F]/;
// Bidi embeddings/overrides/isolates (U+202A–202E, U+2066–2069) can disguise text ("Trojan
// Source", CVE-2021-42574), so they are refused rather than stripped.
const BIDI_OVERRIDE = /[\u202A-\u202E\u2066-\u2069]/;
// A high surrogate not followed by a low one, or a low one not preceded by a high one: not
// encodable as UTF-8, so it would be mangled on the way to storage.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks a message text. Returns the trimmed text to store, or the problem. The trimmed text
 * is what counts and what is kept, so a valid `send` always fits the default frame size.
 */
export function checkMessageText(
  text: string,
): { ok: true; text: string } | { ok: false; problem: TextProblem } {
  const trimmed = text.trim();
  if (trimmed.length === 0) return { ok: false, problem: 'empty' };
  if (trimmed.length > MESSAGE_TEXT_MAX) return { ok: false, problem: 'too_long' };
  if (FORBIDDEN_CONTROL.test(trimmed)) return { ok: false, problem: 'control' };
  if (BIDI_OVERRIDE.test(trimmed)) return { ok: false, problem: 'bidi_override' };
  if (LONE_SURROGATE.test(trimmed)) return { ok: false, problem: 'lone_surrogate' };
  return { ok: true, text: trimmed };
}

// Server-issued ids are URL-safe base64 or hex of ≥ 122 random bits; nothing else is an id.
const ID = new RegExp(`^[A-Za-z0-9_-]{1,${ID_MAX_LENGTH}}$`);

/** Whether `value` has the shape of a server-issued id (dialog, message, visitor, site). */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

// RFC 9562 layout, any version and variant, either case; the nil UUID is allowed as a shape.
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Whether `value` is a UUID in its canonical 8-4-4-4-12 hex form. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Whether `value` is a safe integer ≥ 0 (sequence numbers, timestamps, counts). */
export function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
