import { runDriverConformance } from '@streamspace/session-driver/conformance';
import { createDockerTestEnv } from './docker-test-env';

runDriverConformance(
  'docker (session image containers on a private bridge network)',
  async () => {
    const env = await createDockerTestEnv();
    return {
      driver: env.driver,
      makeSpec: env.makeSpec,
      missingImageSpec: () => env.makeSpec({ image: 'streamspace/no-such-image:conformance' }),
      writeHomeFile: env.writeHomeFile,
      readHomeFile: env.readHomeFile,
      killSession: (sessionId) => env.killSession(sessionId),
      cleanup: env.cleanup,
    };
  },
  { startTimeoutMs: 20_000, failureTimeoutMs: 5_000, changeTimeoutMs: 5_000 },
);
