import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchSteps } from './launch-steps';

const statuses = (steps: ReturnType<typeof launchSteps>) => steps.map((step) => step.status);

test('while the request is in flight the first step is finding an agent', () => {
  const steps = launchSteps(undefined);
  assert.equal(steps[0]?.label, 'Finding an agent');
  assert.deepEqual(statuses(steps), ['current', 'todo', 'todo']);
});

test('a starting session names its agent and platform, and starting is current', () => {
  const steps = launchSteps({ state: 'starting', agentName: 'node-7', platform: 'docker' });
  assert.equal(steps[0]?.label, 'Placed on node-7 (Docker)');
  assert.deepEqual(statuses(steps), ['done', 'current', 'todo']);
});

test('running is the last step; a pending session is still being placed', () => {
  assert.deepEqual(statuses(launchSteps({ state: 'running', agentName: 'a', platform: 'local' })), [
    'done',
    'done',
    'current',
  ]);
  assert.deepEqual(
    statuses(launchSteps({ state: 'pending', agentName: null, platform: 'kubernetes' })),
    ['current', 'todo', 'todo'],
  );
});
