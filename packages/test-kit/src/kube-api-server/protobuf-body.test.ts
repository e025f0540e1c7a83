import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeProtobufBody } from './protobuf-body';
import { KubeApiError } from './kube-status';

// Protobuf by hand: length-delimited fields (wire type 2) and varints (wire type 0).
const bytes = (number: number, value: Buffer | string): Buffer => {
  const data = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from([(number << 3) | 2, data.length]), data]);
};
const varint = (number: number, value: number): Buffer => Buffer.from([number << 3, value]);
const entry = (number: number, key: string, value: string | Buffer) =>
  bytes(number, Buffer.concat([bytes(1, key), bytes(2, value)]));
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    bytes(1, Buffer.concat([bytes(1, apiVersion), bytes(2, kind)])),
    bytes(2, raw),
  ]);

test('a protobuf Secret decodes to its JSON shape (what Helm stores releases in)', () => {
  const metadata = Buffer.concat([
    bytes(1, 'sh.helm.release.v1.demo.v1'),
    entry(11, 'owner', 'helm'),
    entry(11, 'status', 'deployed'),
  ]);
  const secret = Buffer.concat([
    bytes(1, metadata),
    entry(2, 'release', Buffer.from([0x1f, 0x8b, 0x00])),
    bytes(3, 'helm.sh/release.v1'),
    varint(5, 1),
  ]);
  assert.deepEqual(decodeProtobufBody(envelope('v1', 'Secret', secret)), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'sh.helm.release.v1.demo.v1', labels: { owner: 'helm', status: 'deployed' } },
    data: { release: Buffer.from([0x1f, 0x8b, 0x00]).toString('base64') },
    type: 'helm.sh/release.v1',
    immutable: true,
  });
  assert.deepEqual(decodeProtobufBody(envelope('v1', 'DeleteOptions', varint(1, 30))), {
    kind: 'DeleteOptions',
    gracePeriodSeconds: 30,
  });
});

test('kinds it does not know, and bodies without the envelope, are 415 Unsupported Media Type', () => {
  for (const body of [envelope('apps/v1', 'Deployment', Buffer.alloc(0)), Buffer.from('{}')]) {
    assert.throws(
      () => decodeProtobufBody(body),
      (error: unknown) => error instanceof KubeApiError && error.code === 415,
    );
  }
});
