/** What "Show more" needs of an infinite query (@tanstack/react-query useInfiniteQuery). */
export interface PagedQuery {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => Promise<unknown>;
}

/**
 * The "Show more" button under a paged list, shown while the server says more pages follow
 * (nextCursor). It stays enabled while loading, so keyboard focus stays on it for the next
 * press; a press while a page loads does nothing.
 */
export function LoadMore({
  query,
  shown,
  noun,
}: {
  query: PagedQuery;
  shown: number;
  noun: string;
}) {
  if (!query.hasNextPage) return null;
  return (
    <div className="load-more">
      <button
        type="button"
        className="btn"
        aria-busy={query.isFetchingNextPage}
        onClick={() => {
          if (!query.isFetchingNextPage) void query.fetchNextPage();
        }}
      >
        Show more
      </button>
      <span className="muted" role="status" aria-live="polite">
        {query.isFetchingNextPage ? `Loading more ${noun}…` : `${shown} ${noun} shown`}
      </span>
    </div>
  );
}
