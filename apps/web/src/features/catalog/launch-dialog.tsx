import { PLATFORM_DISPLAY_NAMES, type PlatformChoice, type Template } from '@streamspace/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { errorMessage, isApiError } from '../../api/api-error';
import { queryKeys } from '../../api/query-keys';
import { sessionsApi } from '../../api/sessions-api';
import { Dialog } from '../../components/confirm-dialog';
import { InlineError } from '../../components/error-panel';
import { Spinner } from '../../components/spinner';
import { LaunchProgress } from './launch-progress';

const PLATFORM_LABEL: Record<PlatformChoice, string> = {
  auto: 'Automatic',
  ...PLATFORM_DISPLAY_NAMES,
};

export const NO_AGENT_MESSAGE = 'No agent is online for any platform';

/** Pick a platform among those with an online agent, launch, and follow the start. */
export function LaunchDialog({ template, onClose }: { template: Template; onClose: () => void }) {
  const [choice, setChoice] = useState<PlatformChoice>('auto');
  const [startedAt, setStartedAt] = useState(0);
  const queryClient = useQueryClient();
  const platforms = useQuery({
    queryKey: queryKeys.platforms,
    queryFn: sessionsApi.platforms,
    refetchInterval: 5_000,
  });
  const launch = useMutation({
    mutationFn: () => sessionsApi.create({ templateId: template.id, platform: choice }),
    // The answer is the session as created (usually already starting): show that at once
    // rather than a step the session has passed while its first fetch is in flight.
    onSuccess: (session) => queryClient.setQueryData(queryKeys.session(session.id), session),
  });
  const online = (platforms.data ?? []).filter((platform) => platform.onlineAgents > 0);
  const totalAgents = online.reduce((sum, platform) => sum + platform.onlineAgents, 0);

  return (
    <Dialog open title={`Launch ${template.name}`} onClose={onClose}>
      {launch.data || launch.isPending ? (
        <LaunchProgress sessionId={launch.data?.id ?? null} startedAt={startedAt} />
      ) : platforms.isPending ? (
        <Spinner label="Checking agents" />
      ) : online.length === 0 ? (
        <p className="notice notice-warn" role="alert">
          {NO_AGENT_MESSAGE}. Ask an administrator to start one, then try again.
        </p>
      ) : (
        <form
          id="launch-form"
          onSubmit={(event) => {
            event.preventDefault();
            setStartedAt(Date.now());
            launch.mutate();
          }}
        >
          <fieldset className="platform-choice">
            <legend>Where should it run?</legend>
            {[
              { value: 'auto' as const, count: totalAgents },
              ...online.map((platform) => ({
                value: platform.platform,
                count: platform.onlineAgents,
              })),
            ].map(({ value, count }) => (
              <label key={value} className="radio">
                <input
                  type="radio"
                  name="platform"
                  value={value}
                  checked={choice === value}
                  onChange={() => setChoice(value)}
                />
                <span>{PLATFORM_LABEL[value]}</span>
                <span className="muted">
                  {count} agent{count === 1 ? '' : 's'} online
                </span>
              </label>
            ))}
          </fieldset>
        </form>
      )}
      <InlineError
        message={
          platforms.error
            ? errorMessage(platforms.error)
            : launch.error
              ? isApiError(launch.error, 'no_agent_available')
                ? `No agent can run it right now: ${launch.error.message}`
                : errorMessage(launch.error)
              : null
        }
      />
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onClose}>
          {launch.data ? 'Close' : 'Cancel'}
        </button>
        {launch.data || launch.isPending ? null : (
          <button
            type="submit"
            form="launch-form"
            className="btn btn-primary"
            disabled={online.length === 0}
          >
            Launch
          </button>
        )}
      </div>
    </Dialog>
  );
}
