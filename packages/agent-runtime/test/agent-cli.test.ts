import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAgentCliOptions } from '../src/agent-cli';

describe('agent CLI options', () => {
  it('driver flags given as `--flag value` keep their value', () => {
    const options = parseAgentCliOptions(
      'kubernetes',
      ['--kubeconfig', '/etc/kube/config', '--stream-mode', 'port-forward', '--url', 'http://cp'],
      {},
    );
    assert.equal(options.flags.kubeconfig, '/etc/kube/config');
    assert.equal(options.flags['stream-mode'], 'port-forward');
    assert.equal(options.url, 'http://cp');
  });

  it('flags win over environment variables; labels and capacity are parsed', () => {
    const options = parseAgentCliOptions(
      'docker',
      [
        '--url',
        'http://cp:8080',
        '--label',
        'zone=a',
        '--label',
        'gpu=none',
        '--max-sessions',
        '7',
      ],
      {
        STREAMSPACE_URL: 'http://ignored:1',
        STREAMSPACE_ENROLLMENT_TOKEN: 'sse_from_env',
        STREAMSPACE_REGION: 'eu',
        STREAMSPACE_LABELS: 'ignored=yes',
      },
    );
    assert.equal(options.url, 'http://cp:8080');
    assert.equal(options.enrollmentToken, 'sse_from_env');
    assert.equal(options.region, 'eu');
    assert.deepEqual(options.labels, { zone: 'a', gpu: 'none' });
    assert.equal(options.maxSessions, 7);
    assert.match(options.credentialsFile, /streamspace-agent\.json$/);
    assert.match(options.name, /-docker$/);
  });

  it('reads labels from the environment and refuses malformed input', () => {
    assert.deepEqual(parseAgentCliOptions('local', [], { STREAMSPACE_LABELS: 'a=1, b=2' }).labels, {
      a: '1',
      b: '2',
    });
    assert.throws(() => parseAgentCliOptions('local', ['--label', 'novalue'], {}), /key=value/);
    assert.throws(() => parseAgentCliOptions('local', ['--max-sessions', 'lots'], {}), /whole/);
  });
});
