import { z } from 'zod';
import { ApiError } from './api-error';

/**
 * Keyset page cursors (docs/api.md "Pagination"): the sort key of the last item of a page,
 * tagged with the list it belongs to, as base64url JSON. A cursor is a position, not a
 * credential: every request applies its caller's scope and filters again, so a hand-made
 * cursor can only move where a list starts, never show a row the caller may not see.
 */
export interface PageCursorCodec<Key> {
  /** The key in `cursor`, or ApiError `invalid_cursor` (400) for anything it did not encode. */
  decode(cursor: string): Key;
  /**
   * A page of `rows` read with one row more than `limit` (whether it exists says whether a next
   * page does): the first `limit` rows and the cursor after the last of them, or null.
   */
  page<Row>(rows: Row[], limit: number, keyOf: (row: Row) => Key): PageOfRows<Row>;
}

export interface PageOfRows<Row> {
  rows: Row[];
  nextCursor: string | null;
}

/** `list` tags the cursor so one list's cursor is refused by another list. */
export function createPageCursor<Key extends readonly unknown[]>(
  list: string,
  key: z.ZodType<Key>,
): PageCursorCodec<Key> {
  const payload = z.tuple([z.literal(list)], z.unknown()).transform(([, ...rest]) => rest);
  const encode = (value: Key) =>
    Buffer.from(JSON.stringify([list, ...value])).toString('base64url');
  return {
    page(rows, limit, keyOf) {
      const shown = rows.slice(0, limit);
      const last = shown.at(-1);
      return {
        rows: shown,
        nextCursor: rows.length > limit && last !== undefined ? encode(keyOf(last)) : null,
      };
    },
    decode(cursor) {
      const invalid = new ApiError(
        'invalid_cursor',
        'invalid cursor: pass back the nextCursor of the previous page unchanged',
      );
      if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid;
      const bytes = Buffer.from(cursor, 'base64url');
      // Only the canonical encoding: base64 decoders skip stray trailing characters.
      if (bytes.toString('base64url') !== cursor) throw invalid;
      let json: unknown;
      try {
        json = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw invalid;
      }
      const tagged = payload.safeParse(json);
      if (!tagged.success) throw invalid;
      const parsed = key.safeParse(tagged.data);
      if (!parsed.success) throw invalid;
      return parsed.data;
    },
  };
}
