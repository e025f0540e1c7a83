import { useEffect, useRef } from 'react';

/** What "Show more" needs of an infinite query (@tanstack/react-query useInfiniteQuery). */
export interface PagedQuery {
  data?: { pages: unknown[] } | undefined;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => Promise<unknown>;
}

/**
 * The "Show more" button under a paged list, shown while the server says more pages follow
 * (nextCursor). It stays enabled while loading, so keyboard focus stays on it for the next
 * press (a press while a page loads does nothing). When the last page arrives the button
 * goes and focus moves to the line saying everything is shown, not to the top of the page.
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
  const buttonFocused = useRef(false);
  const done = useRef<HTMLParagraphElement>(null);
  const { hasNextPage } = query;

  useEffect(() => {
    // A removed element fires no blur: the flag still says the button had focus.
    if (!hasNextPage && buttonFocused.current) {
      buttonFocused.current = false;
      done.current?.focus();
    }
  }, [hasNextPage]);

  if (!hasNextPage) {
    // Only after "Show more" was used: a list of one page needs no footer.
    return (query.data?.pages.length ?? 0) > 1 ? (
      <p className="load-more muted" tabIndex={-1} ref={done}>
        All {shown} {noun} shown
      </p>
    ) : null;
  }
  return (
    <div className="load-more">
      <button
        type="button"
        className="btn"
        aria-busy={query.isFetchingNextPage}
        onFocus={() => (buttonFocused.current = true)}
        onBlur={() => (buttonFocused.current = false)}
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
