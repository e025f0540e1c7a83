import { join } from 'node:path';
import { runAgentCli } from '@streamspace/agent-runtime';
import { createLocalDriver } from './local-driver';

// streamspace-agent local: sessions are Xvnc + window manager + app processes on this host.
await runAgentCli('local', ({ options, logger }) =>
  createLocalDriver({ dataDir: join(options.stateDir, 'local'), logger }),
);
