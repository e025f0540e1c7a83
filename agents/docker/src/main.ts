import Docker from 'dockerode';
import { runAgentMain } from '@streamspace/agent-runtime';
import { createDockerDriver } from './docker-driver';

// streamspace-agent docker [--docker-host unix:///var/run/docker.sock] [--network NAME]
await runAgentMain('docker', async ({ options, logger }) => {
  const host = options.flags['docker-host'];
  const network = options.flags.network;
  const docker =
    typeof host === 'string' && host.startsWith('unix://')
      ? new Docker({ socketPath: host.slice('unix://'.length) })
      : new Docker();
  return createDockerDriver({
    docker,
    logger,
    ...(typeof network === 'string' ? { network } : {}),
  });
});
