import { randomBytes, randomUUID } from 'node:crypto';
import { DEFAULT_VNC_PORT, type SessionSpec } from '@streamspace/protocol';

/**
 * A valid SessionSpec for tests: twm + xterm at 800x600, fresh session and user ids, a
 * fresh home and a random VNC password. Drivers' harnesses override what their platform
 * needs (the image, resources).
 */
export function testSessionSpec(overrides: Partial<SessionSpec> = {}): SessionSpec {
  return {
    sessionId: randomUUID(),
    userId: randomUUID(),
    templateId: 'desktop-test',
    image: 'streamspace/desktop:latest',
    app: ['xterm'],
    windowManager: 'twm',
    resources: { cpuMillis: 1000, memoryMb: 512 },
    geometry: { width: 800, height: 600 },
    homeKey: `t-${randomBytes(6).toString('hex')}`,
    vncPassword: randomBytes(6).toString('hex'),
    vncPort: DEFAULT_VNC_PORT,
    env: {},
    ...overrides,
  };
}
