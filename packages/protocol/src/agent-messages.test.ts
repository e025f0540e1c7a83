import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAgentMessage } from './agent-messages';
import { PROTOCOL_VERSION, isSupportedProtocolVersion } from './version';

describe('agent message parsing', () => {
  it('accepts a valid hello', () => {
    const parsed = parseAgentMessage(
      JSON.stringify({
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        agentId: '7d3f2c4e-9a51-4b8e-8f00-2b1c3d4e5f60',
        platform: 'docker',
        agentVersion: '0.1.0',
        capacity: { maxSessions: 5 },
        region: 'eu-west',
        labels: { gpu: 'none' },
        clusterInfo: {},
        inventory: [],
      }),
    );
    assert.equal(parsed.ok, true);
  });

  it('tells malformed JSON, unknown types and schema violations apart', () => {
    assert.deepEqual(parseAgentMessage('{not json'), {
      ok: false,
      code: 'invalid_message',
      message: 'message is not valid JSON',
    });
    const unknown = parseAgentMessage('{"type":"teleport"}');
    assert.equal(unknown.ok, false);
    assert.equal(!unknown.ok && unknown.code, 'unknown_message');
    const invalid = parseAgentMessage('{"type":"command_ack","commandId":"nope"}');
    assert.equal(!invalid.ok && invalid.code, 'invalid_message');
  });

  it('supports only known protocol versions', () => {
    assert.equal(isSupportedProtocolVersion(PROTOCOL_VERSION), true);
    assert.equal(isSupportedProtocolVersion(PROTOCOL_VERSION + 1), false);
    assert.equal(isSupportedProtocolVersion(0), false);
  });
});
