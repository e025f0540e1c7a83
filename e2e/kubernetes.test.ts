import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import type { Session } from '@streamspace/protocol';
import {
  createKubeApiServer,
  ensureTestSessionImage,
  KUBE_SERVER_LABEL,
  type KubeApiServer,
} from '@streamspace/test-kit';
import { dockerExec, LifecycleClient } from './lifecycle-support';
import { startAgent, type RunningAgent } from './support/start-agent';
import { startSystem, type RunningSystem } from './support/start-system';

/**
 * Issue 6 acceptance: a desktop running in a pod (the test API server's Docker-backed
 * kubelet) streams through the control plane to an RFB client; hibernate keeps the home
 * claim and a file in it; wake brings both back.
 */
const NAMESPACE = 'sessions';
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

describe('a Kubernetes session through the control plane', () => {
  let cluster: KubeApiServer;
  let system: RunningSystem;
  let agent: RunningAgent;
  let client: LifecycleClient;
  let image: string;

  before(async () => {
    image = await ensureTestSessionImage();
    cluster = await createKubeApiServer({ namespaces: ['default', NAMESPACE] });
    const kubeconfig = await cluster.writeKubeconfig(NAMESPACE);
    system = await startSystem({ embeddedAgent: 'none' });
    // `--flag=value`: agent-cli parses platform flags non-strictly, so `--flag value` would
    // read as a boolean flag and a positional argument.
    const adminToken = await system.login();
    agent = await startAgent(system.baseUrl, adminToken, 'kubernetes', 'e2e-kubernetes', {
      extraArgs: [`--kubeconfig=${kubeconfig}`, `--namespace=${NAMESPACE}`],
    });
    client = new LifecycleClient(system.baseUrl, adminToken);
    await client.useImage('terminal', image);
  });

  after(async () => {
    await agent?.stop();
    await system?.close();
    await cluster?.close();
  });

  const podContainer = async (session: Session): Promise<string> => {
    const [container] = await docker.listContainers({
      filters: {
        label: [
          `${KUBE_SERVER_LABEL}=${cluster.serverId}`,
          `io.kubernetes.pod.name=${session.details.pod}`,
        ],
      },
    });
    assert.ok(container, `a running container for pod ${session.details.pod}`);
    return container.Id;
  };
  const objects = (resource: string) => cluster.objects(resource, NAMESPACE);

  test('stream pixels from a pod; hibernate keeps the claim and a file; wake brings them back', async () => {
    const created = await client.request<Session>('POST', '/api/v1/sessions', {
      templateId: 'terminal',
      platform: 'kubernetes',
    });
    const running = await client.waitForState(created.id, ['running'], 90_000);
    assert.equal(running.details.namespace, NAMESPACE);
    assert.match(running.details.pod ?? '', /^ss-/);

    const first = await client.firstFramebuffer(created.id);
    assert.ok(first.width >= 320 && first.height >= 200, 'a real framebuffer');
    assert.equal(first.probe.framebuffer.length, first.width * first.height * 4);
    first.probe.close();

    // The session user writes into its home, as an app would.
    const text = `kept across hibernation ${randomBytes(8).toString('hex')}`;
    await dockerExec(await podContainer(running), `printf '%s' '${text}' > "$HOME/kept.txt"`);

    await client.action(created.id, 'hibernate');
    await client.waitForState(created.id, ['hibernated'], 60_000);
    assert.equal(
      objects('pods').filter((pod) => pod.metadata.name === running.details.pod).length,
      0,
      'hibernation released the pod',
    );
    const claims = objects('persistentvolumeclaims').map((claim) => claim.metadata.name);
    assert.equal(claims.length, 1, `one home claim is kept (${claims.join(', ')})`);
    const kept = await cluster.readClaimFile(NAMESPACE, claims[0]!, 'kept.txt', image);
    assert.equal(kept?.toString(), text, 'the file is in the kept claim');

    await client.action(created.id, 'wake');
    const woken = await client.waitForState(created.id, ['running'], 90_000);
    assert.equal(await dockerExec(await podContainer(woken), 'cat "$HOME/kept.txt"'), text);
    const again = await client.firstFramebuffer(created.id);
    assert.ok(again.width > 0, 'the woken session streams');
    again.probe.close();

    await client.remove(created.id, true);
    await client.waitForState(created.id, ['stopped'], 60_000);
    assert.equal(objects('persistentvolumeclaims').length, 0, 'deleteHome removed the claim');
  });
});
