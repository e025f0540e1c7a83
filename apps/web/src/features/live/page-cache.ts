import type { Page } from '@streamspace/protocol';
import type { InfiniteData } from '@tanstack/react-query';

export type Pages<T> = InfiniteData<Page<T>, unknown>;

/** What a changed item means for a list loaded page by page. */
export type PageFold<T> =
  { kind: 'replace'; data: Pages<T> } | { kind: 'refetch' } | { kind: 'ignore' };

/**
 * Fold a changed item (a server-sent event) into the pages loaded so far. An item on a page
 * is replaced in place while it still matches the list's filter, and makes the list refetch
 * when it no longer does. A new item that matches is fetched only if it sorts among the
 * loaded pages: beyond the last one, "Show more" brings it, so a busy system (2,000 agents
 * heartbeating) does not refetch a page that would not change.
 */
export function foldIntoPages<T extends { id: string }>(
  data: Pages<T>,
  item: T,
  {
    matches,
    sortsBefore,
  }: {
    /** Whether the item belongs in this list (its filter). */
    matches: boolean;
    /** Whether `a` comes before `b` in the list's order. */
    sortsBefore: (a: T, b: T) => boolean;
  },
): PageFold<T> {
  const present = data.pages.some((page) => page.items.some((entry) => entry.id === item.id));
  if (present) {
    if (!matches) return { kind: 'refetch' };
    return {
      kind: 'replace',
      data: {
        ...data,
        pages: data.pages.map((page) => ({
          ...page,
          items: page.items.map((entry) => (entry.id === item.id ? item : entry)),
        })),
      },
    };
  }
  if (!matches) return { kind: 'ignore' };
  const lastPage = data.pages.at(-1);
  const last = lastPage?.items.at(-1);
  if (lastPage === undefined || lastPage.nextCursor === null || last === undefined) {
    return { kind: 'refetch' };
  }
  return sortsBefore(item, last) ? { kind: 'refetch' } : { kind: 'ignore' };
}

/**
 * The items of every loaded page in order, each once: a page refetched after rows moved can
 * briefly repeat a row of the page before it.
 */
export function pageItems<T extends { id: string }>(data: Pages<T> | undefined): T[] {
  if (data === undefined) return [];
  const seen = new Set<string>();
  const items: T[] = [];
  for (const page of data.pages) {
    for (const item of page.items) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      items.push(item);
    }
  }
  return items;
}
