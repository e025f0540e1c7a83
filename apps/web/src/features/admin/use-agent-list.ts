import { agentsApi, type AgentListFilter } from '../../api/admin-api';
import { queryKeys } from '../../api/query-keys';
import { usePagedList } from '../live/use-paged-list';

/**
 * Agents by name, a page at a time: `agents` is every loaded page, `fetchNextPage` loads the
 * next while `hasNextPage`. Live updates fold into the pages (live-events.tsx).
 */
export function useAgentList(filter: AgentListFilter) {
  const list = usePagedList(queryKeys.agentList(filter), (cursor) =>
    agentsApi.page(filter, cursor),
  );
  return { ...list, agents: list.items };
}
