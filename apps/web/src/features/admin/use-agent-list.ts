import { useInfiniteQuery } from '@tanstack/react-query';
import { agentsApi, type AgentListFilter } from '../../api/admin-api';
import { queryKeys } from '../../api/query-keys';
import { useRefetchInterval } from '../live/live-events';
import { pageItems } from '../live/page-cache';

/**
 * Agents by name, a page at a time: `agents` is every loaded page, `fetchNextPage` loads the
 * next while `hasNextPage`. Live updates fold into the pages (live-events.tsx).
 */
export function useAgentList(filter: AgentListFilter) {
  const query = useInfiniteQuery({
    queryKey: queryKeys.agentList(filter),
    queryFn: ({ pageParam }) => agentsApi.page(filter, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    refetchInterval: useRefetchInterval(),
  });
  return { ...query, agents: pageItems(query.data) };
}
