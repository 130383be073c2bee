/**
 * History pages (SPEC §3): `?after_seq=N` (ascending after N), `?before_seq=N` (the page ending
 * before N), or neither (the latest page); `limit` 1..100, default 50. Items carry exactly the
 * fields of the `message` frame.
 */
import {
  type ChatMessage,
  HISTORY_PAGE_DEFAULT,
  HISTORY_PAGE_MAX,
  type HistoryPage,
} from '@postern/protocol';
import type { DialogRecord, Store } from '../store/types.js';
import { messageFrame } from './frames.js';

export interface HistoryQuery {
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  readonly limit: number;
}

const COUNT = /^(0|[1-9]\d{0,15})$/;

/** Parses the query string of a history request; `null` when it is invalid. */
export function parseHistoryQuery(search: string): HistoryQuery | null {
  const params = new URLSearchParams(search);
  for (const key of params.keys()) {
    if (key !== 'after_seq' && key !== 'before_seq' && key !== 'limit') return null;
  }
  const read = (key: string): number | undefined | null => {
    const values = params.getAll(key);
    if (values.length === 0) return undefined;
    const [value] = values;
    if (values.length > 1 || value === undefined || !COUNT.test(value)) return null;
    const number = Number(value);
    return Number.isSafeInteger(number) ? number : null;
  };
  const afterSeq = read('after_seq');
  const beforeSeq = read('before_seq');
  // `null` (invalid) must not fall through to the default: `?limit=abc` is refused, not served.
  const givenLimit = read('limit');
  if (afterSeq === null || beforeSeq === null || givenLimit === null) return null;
  const limit = givenLimit ?? HISTORY_PAGE_DEFAULT;
  if (afterSeq !== undefined && beforeSeq !== undefined) return null;
  if (limit < 1 || limit > HISTORY_PAGE_MAX) return null;
  return {
    limit,
    ...(afterSeq === undefined ? {} : { afterSeq }),
    ...(beforeSeq === undefined ? {} : { beforeSeq }),
  };
}

/** One page of a dialog's history; `next_after_seq` is set while newer messages exist. */
export async function historyPage(
  store: Store,
  dialog: DialogRecord,
  query: HistoryQuery,
): Promise<HistoryPage> {
  const records = await store.listMessages(dialog.id, query);
  const messages: ChatMessage[] = records.map((record) => {
    const { type: _type, ...message } = messageFrame(record);
    return message;
  });
  // Where the page ends: its last message, else the bound it was asked for (an empty page
  // before seq N ends at N - 1, so a client can still page forward from there).
  const last =
    records.at(-1)?.seq ??
    query.afterSeq ??
    (query.beforeSeq === undefined ? null : Math.max(0, query.beforeSeq - 1));
  const more = last !== null && last < dialog.lastSeq;
  return { messages, next_after_seq: more ? last : null };
}
