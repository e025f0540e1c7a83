import { join } from 'node:path';
import { runAgentMain } from '@streamspace/agent-runtime';
import { createLocalDriver } from './local-driver';

// streamspace-agent local: sessions are Xvnc + window manager + app processes on this host.
await runAgentMain('local', ({ options, logger }) =>
  createLocalDriver({ dataDir: join(options.stateDir, 'local'), logger }),
);
