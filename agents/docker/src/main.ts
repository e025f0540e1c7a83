import Docker from 'dockerode';
import { runAgentMain } from '@streamspace/agent-runtime';
import { createDockerDriver } from './docker-driver';

// streamspace-agent docker [--docker-host unix:///var/run/docker.sock] [--network NAME]
//   [--scope NAME]: the scope labels what this agent owns when several share one engine.
await runAgentMain('docker', async ({ options, logger }) => {
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' && value !== '' ? value : undefined;
  const host = text(options.flags['docker-host']);
  const network = text(options.flags.network);
  const scope = text(options.flags.scope) ?? text(process.env.STREAMSPACE_DOCKER_SCOPE);
  const docker = host?.startsWith('unix://')
    ? new Docker({ socketPath: host.slice('unix://'.length) })
    : new Docker();
  return createDockerDriver({
    docker,
    logger,
    ...(network !== undefined ? { network } : {}),
    ...(scope !== undefined ? { scope } : {}),
  });
});
