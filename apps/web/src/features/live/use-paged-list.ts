import type { Page } from '@streamspace/protocol';
import { useInfiniteQuery, type QueryKey } from '@tanstack/react-query';
import { useRefetchInterval } from './live-events';
import { pageItems } from './page-cache';

/**
 * A keyset-paged list, a page at a time: `items` is every loaded page (each item once),
 * `fetchNextPage` loads the next while `hasNextPage`. Live updates fold into the pages
 * (live-events.tsx), and it polls only when the event stream is down.
 */
export function usePagedList<T extends { id: string }>(
  queryKey: QueryKey,
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
) {
  const query = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => fetchPage(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    refetchInterval: useRefetchInterval(),
  });
  return { ...query, items: pageItems(query.data) };
}
