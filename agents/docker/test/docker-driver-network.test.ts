import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { LABEL_SCOPE } from '../src/docker-labels';
import { createDockerDriver } from '../src/docker-driver';
import { createDockerTestEnv, type DockerTestEnv } from './docker-test-env';

const run = promisify(execFile);

/** Reads the RFB banner from inside `container`, or "unreachable" (bash's /dev/tcp). */
async function bannerSeenFrom(container: string, host: string): Promise<string> {
  const probe = `exec 3<>/dev/tcp/${host}/5900 && head -c 12 <&3`;
  const { stdout } = await run('docker', [
    'exec',
    container,
    'bash',
    '-c',
    `timeout 3 bash -c '${probe}' || echo unreachable`,
  ]);
  return stdout.trim();
}

describe('docker driver networking', { timeout: 5 * 60_000 }, () => {
  let env: DockerTestEnv;
  let agentNetwork: Docker.Network;
  const agentNetworkName = `streamspace-test-agent-${randomBytes(4).toString('hex')}`;
  const agents: Docker.Container[] = [];

  before(async () => {
    env = await createDockerTestEnv();
    agentNetwork = await env.docker.createNetwork({
      Name: agentNetworkName,
      Labels: { [LABEL_SCOPE]: env.scope },
    });
  });

  after(async () => {
    for (const agent of agents) await agent.remove({ force: true }).catch(() => {});
    await env?.cleanup();
    await agentNetwork?.remove().catch(() => {});
  });

  /** A container standing in for an agent that runs in a container. */
  async function agentContainer(network: string): Promise<Docker.Container> {
    const container = await env.docker.createContainer({
      Image: env.image,
      Entrypoint: ['sleep', '600'],
      Labels: { [LABEL_SCOPE]: env.scope },
      HostConfig: { NetworkMode: network },
    });
    agents.push(container);
    await container.start();
    return container;
  }

  it('isolates sessions: the host reaches them, a container on the same network does not', async () => {
    const spec = env.makeSpec();
    const { observation } = await env.driver.start(spec);
    const host = observation.endpoint?.host ?? '';
    const network = await env.docker.getNetwork(env.network).inspect();
    assert.equal(network.Options?.['com.docker.network.bridge.enable_icc'], 'false');

    const neighbour = await agentContainer(env.network);
    assert.equal(await bannerSeenFrom(neighbour.id, host), 'unreachable');
    const stream = await env.driver.openStream(spec.sessionId, 5900);
    const banner = await new Promise<string>((resolve) =>
      stream.once('data', (chunk: Buffer) => resolve(chunk.subarray(0, 12).toString('latin1'))),
    );
    stream.destroy();
    assert.equal(banner, 'RFB 003.008\n');
    await env.driver.stop(spec.sessionId, { deleteHome: true });
  });

  it('attaches an agent that runs in a container to a non-isolated sessions network', async () => {
    assert.throws(
      () => createDockerDriver({ agentContainer: 'x' }),
      /agentContainer needs isolateSessions: false/,
    );
    const agent = await agentContainer(agentNetworkName);
    const network = `${env.network}-open`;
    const driver = env.newDriver({ network, isolateSessions: false, agentContainer: agent.id });
    const spec = env.makeSpec();
    try {
      const { observation } = await driver.start(spec);
      const attached = (await agent.inspect()).NetworkSettings.Networks;
      assert.ok(network in attached, 'the agent container joined the sessions network');
      assert.equal(await bannerSeenFrom(agent.id, observation.endpoint?.host ?? ''), 'RFB 003.008');
    } finally {
      await driver.stop(spec.sessionId, { deleteHome: true });
      await agent.remove({ force: true });
      await env.docker
        .getNetwork(network)
        .remove()
        .catch(() => {});
    }
  });
});
