import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { REDACT_PATHS } from './log-redaction';

describe('log redaction', () => {
  it('hides credentials at the top level and one and two objects deep', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ redact: REDACT_PATHS }, sink);
    logger.info(
      {
        agentSecret: 'ssa_top',
        enrollmentToken: 'sse_top',
        agent: { agentSecret: 'ssa_nested', name: 'kept-name' },
        request: { headers: { authorization: 'Bearer ssu_deep', cookie: 'streamspace_session=x' } },
        viewer: { ticket: 'sst_one' },
        user: { profile: { password: 'hunter2-deep' } },
      },
      'something happened',
    );
    const line = lines.join('');
    for (const secret of [
      'ssa_top',
      'sse_top',
      'ssa_nested',
      'ssu_deep',
      'streamspace_session=x',
    ]) {
      assert.equal(line.includes(secret), false, `${secret} is redacted`);
    }
    assert.equal(line.includes('sst_one'), false);
    assert.equal(line.includes('hunter2-deep'), false);
    assert.match(line, /kept-name/, 'other fields stay');
    assert.match(line, /\[Redacted\]/);
  });
});
