import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isReplicaStreamPath,
  REPLICA_STREAM_PATH,
  ReplicaStreamQuery,
  replicaSecretMatches,
  replicaStreamUrl,
} from './replica-stream-protocol';

const SECRET = 'a-replica-secret-of-at-least-32-characters';

describe('replica stream protocol', () => {
  it('accepts only the exact secret as a Bearer credential', () => {
    assert.equal(replicaSecretMatches(`Bearer ${SECRET}`, SECRET), true);
    for (const header of [
      undefined,
      '',
      SECRET,
      `Basic ${SECRET}`,
      `Bearer ${SECRET} `,
      `Bearer ${SECRET.slice(0, -1)}`,
      `Bearer ${SECRET}x`,
      'Bearer ',
    ]) {
      assert.equal(replicaSecretMatches(header, SECRET), false, `refused: ${String(header)}`);
    }
  });

  it('puts ids only in the URL, and the owner parses them back', () => {
    const query = {
      agentId: '0b5d3f0e-8d7c-4f0a-9a43-1c2b3d4e5f60',
      sessionId: '6f1e2d3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
      port: 5900,
    };
    const url = new URL(replicaStreamUrl('http://10.0.0.7:8080', query));
    assert.equal(url.protocol, 'ws:');
    assert.equal(url.pathname, REPLICA_STREAM_PATH);
    assert.deepEqual([...url.searchParams.keys()].sort(), ['agentId', 'port', 'sessionId']);
    assert.deepEqual(ReplicaStreamQuery.parse(Object.fromEntries(url.searchParams)), query);
    assert.equal(isReplicaStreamPath(`${url.pathname}${url.search}`), true);
    assert.equal(isReplicaStreamPath('/internal/v1/replica-streams-other'), false);
    assert.equal(replicaStreamUrl('https://cp.internal', query).startsWith('wss://'), true);
  });
});
