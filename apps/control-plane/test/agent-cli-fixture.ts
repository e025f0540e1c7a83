// A `streamspace-agent docker` whose driver is the in-memory FakeDriver: what
// agents/*/src/main.ts do, for the enrollment test.
import { runAgentCli } from '@streamspace/agent-runtime';
import { FakeDriver } from '@streamspace/agent-runtime/fake-driver';

await runAgentCli('docker', async () => new FakeDriver('docker'));
process.exit(0);
