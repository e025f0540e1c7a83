import type { Platform } from '@streamspace/protocol';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { agentsApi } from '../../api/admin-api';
import { errorMessage } from '../../api/api-error';
import { Dialog, FormActions } from '../../components/confirm-dialog';
import { CopyButton } from '../../components/copy-button';
import { InlineError } from '../../components/error-panel';

/**
 * The exact command an admin runs on the new agent's host. The token goes in the environment,
 * not an argument: arguments are visible to every user of the host in `ps`.
 */
function agentCommand(platform: Platform, origin: string, token: string): string {
  return `STREAMSPACE_ENROLLMENT_TOKEN=${token} streamspace-agent ${platform} --url ${origin}`;
}

/** Creates an enrollment token and shows it once, inside the command that uses it. */
export function EnrollmentDialog({ onClose }: { onClose: () => void }) {
  const [platform, setPlatform] = useState<Platform>('docker');
  const [expiresInMinutes, setExpiresInMinutes] = useState(60);
  const create = useMutation({
    mutationFn: () => agentsApi.createEnrollmentToken({ expiresInMinutes, maxUses: 1 }),
  });

  return (
    <Dialog open title="Add an agent" onClose={onClose}>
      {create.data ? (
        <>
          <p>
            Run this on the machine that will host sessions. The token is shown only now; it works
            once and expires {new Date(create.data.enrollmentToken.expiresAt).toLocaleString()}.
          </p>
          <pre className="command" data-testid="agent-command">
            {agentCommand(platform, window.location.origin, create.data.token)}
          </pre>
          <div className="dialog-actions">
            <CopyButton
              text={agentCommand(platform, window.location.origin, create.data.token)}
              label="Copy command"
            />
            <button type="button" className="btn btn-primary" onClick={onClose}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            create.mutate();
          }}
        >
          <label htmlFor="agent-platform">Platform</label>
          <select
            id="agent-platform"
            value={platform}
            onChange={(event) => setPlatform(event.target.value as Platform)}
          >
            <option value="docker">Docker host</option>
            <option value="local">Local machine (Xvnc processes)</option>
            <option value="kubernetes">Kubernetes cluster</option>
          </select>
          <label htmlFor="token-expiry">Token valid for (minutes)</label>
          <input
            id="token-expiry"
            type="number"
            min={1}
            max={43_200}
            value={expiresInMinutes}
            onChange={(event) => setExpiresInMinutes(Number(event.target.value))}
          />
          <InlineError message={create.error ? errorMessage(create.error) : null} />
          <FormActions submitLabel="Create token" pending={create.isPending} onCancel={onClose} />
        </form>
      )}
    </Dialog>
  );
}
