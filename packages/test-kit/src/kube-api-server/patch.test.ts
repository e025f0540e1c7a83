import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyPatch } from './patch';

const pod = {
  metadata: { labels: { a: '1', b: '2' } },
  spec: {
    containers: [
      { name: 'desk', image: 'one', env: [{ name: 'X', value: '1' }] },
      { name: 'side', image: 'two' },
    ],
  },
};

test('merge patch merges objects, deletes nulls and replaces lists', () => {
  const result = applyPatch('application/merge-patch+json', pod, {
    metadata: { labels: { a: null, c: '3' } },
    spec: { containers: [{ name: 'only', image: 'x' }] },
  });
  assert.deepEqual(result, {
    metadata: { labels: { b: '2', c: '3' } },
    spec: { containers: [{ name: 'only', image: 'x' }] },
  });
});

test('strategic merge patch merges lists by their merge key and honours $patch delete', () => {
  const result = applyPatch('application/strategic-merge-patch+json', pod, {
    spec: {
      containers: [
        { name: 'desk', image: 'new', env: [{ name: 'Y', value: '2' }] },
        { name: 'side', $patch: 'delete' },
      ],
    },
  }) as typeof pod;
  assert.deepEqual(result.spec.containers, [
    {
      name: 'desk',
      image: 'new',
      env: [
        { name: 'X', value: '1' },
        { name: 'Y', value: '2' },
      ],
    },
  ]);
});

test('JSON patch applies add, replace, remove and fails a wrong test with 422', () => {
  const result = applyPatch('application/json-patch+json', pod, [
    { op: 'add', path: '/metadata/labels/streamspace.io~1x', value: 'y' },
    { op: 'replace', path: '/spec/containers/0/image', value: 'three' },
    { op: 'remove', path: '/spec/containers/1' },
  ]) as typeof pod;
  assert.deepEqual(result.metadata.labels, { a: '1', b: '2', 'streamspace.io/x': 'y' });
  assert.equal(result.spec.containers.length, 1);
  assert.equal(result.spec.containers[0]!.image, 'three');
  assert.throws(
    () =>
      applyPatch('application/json-patch+json', pod, [
        { op: 'test', path: '/metadata/labels/a', value: 'nope' },
      ]),
    { code: 422 },
  );
  // Server-side apply (application/apply-patch+yaml) is ResourceApi.apply, never a patch here.
  assert.throws(() => applyPatch('application/apply-patch+yaml', pod, {}), { code: 415 });
  assert.throws(() => applyPatch('text/plain', pod, {}), { code: 415 });
});
