import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { classifyPod } from './pod-status';

function pod(status: V1Pod['status'], metadata: V1Pod['metadata'] = {}): V1Pod {
  return { metadata: { name: 'ss-x', ...metadata }, status };
}

const waiting = (reason: string, message?: string): V1Pod['status'] => ({
  phase: 'Pending',
  containerStatuses: [
    {
      name: 'session',
      image: 'i',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { waiting: { reason, ...(message ? { message } : {}) } },
    },
  ],
});

test('image pull errors are image_not_found with the kubelet reason', () => {
  for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']) {
    const state = classifyPod(pod(waiting(reason, 'pull access denied')));
    assert.deepEqual(state, {
      state: 'failed',
      code: 'image_not_found',
      reason: `${reason}: pull access denied`,
    });
  }
});

test('OOMKilled, a failed exit and an eviction are failures with the Kubernetes reason', () => {
  const terminated = (reason: string, exitCode: number): V1Pod['status'] => ({
    phase: 'Failed',
    containerStatuses: [
      {
        name: 'session',
        image: 'i',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { terminated: { reason, exitCode } },
      },
    ],
  });
  assert.deepEqual(classifyPod(pod(terminated('OOMKilled', 137))), {
    state: 'failed',
    code: 'platform_error',
    reason: 'OOMKilled: the session exceeded its memory limit (exit code 137)',
  });
  assert.deepEqual(classifyPod(pod(terminated('Error', 2))), {
    state: 'failed',
    code: 'platform_error',
    reason: 'Error (exit code 2)',
  });
  assert.deepEqual(
    classifyPod(
      pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }),
    ),
    {
      state: 'failed',
      code: 'platform_error',
      reason: 'Evicted: The node was low on resource: memory.',
    },
  );
});

test('a config error is invalid_spec; unschedulable and creating are pending', () => {
  assert.equal(
    classifyPod(pod(waiting('CreateContainerConfigError', 'secret "s" not found'))).state,
    'failed',
  );
  assert.equal(
    (classifyPod(pod(waiting('CreateContainerConfigError'))) as { code: string }).code,
    'invalid_spec',
  );
  assert.deepEqual(
    classifyPod(
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient cpu.',
          },
        ],
      }),
    ),
    {
      state: 'pending',
      unschedulable: 'Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.',
    },
  );
  assert.deepEqual(classifyPod(pod(waiting('ContainerCreating'))), {
    state: 'pending',
    waiting: 'ContainerCreating',
  });
});

test('ready needs Running, the Ready condition and a pod IP; a deleted pod is terminating', () => {
  const running: V1Pod['status'] = {
    phase: 'Running',
    podIP: '10.1.2.3',
    conditions: [{ type: 'Ready', status: 'True' }],
  };
  assert.deepEqual(classifyPod(pod(running)), { state: 'ready', podIP: '10.1.2.3' });
  assert.equal(
    classifyPod(pod({ ...running, conditions: [{ type: 'Ready', status: 'False' }] })).state,
    'pending',
  );
  assert.equal(classifyPod(pod(running, { deletionTimestamp: new Date() })).state, 'terminating');
});
