import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isOurPostmaster, type ProcReader } from './embedded-postgres';

const PID = 4242;

function fakeProc(process: { cmdline?: string; cwd?: string }): ProcReader {
  return {
    cmdline: (pid) => (pid === PID ? process.cmdline : undefined),
    cwd: (pid) => (pid === PID ? process.cwd : undefined),
  };
}

describe('which leftover postmaster a start may stop', () => {
  let root: string;
  let databaseDir: string;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'streamspace-pg-')));
    databaseDir = join(root, 'postgres');
    await symlink(root, join(root, 'link'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const postgres = '/usr/lib/postgresql/15/bin/postgres\0-D\0';

  it('stops a postgres running in our data directory', () => {
    assert.equal(isOurPostmaster(PID, root, fakeProc({ cmdline: postgres, cwd: root })), true);
    // The configured path may go through a symlink: compared resolved.
    const viaLink = join(root, 'link');
    assert.equal(isOurPostmaster(PID, viaLink, fakeProc({ cmdline: postgres, cwd: root })), true);
  });

  it('leaves alone another PostgreSQL that reused the pid after a reboot', () => {
    const other = fakeProc({ cmdline: postgres, cwd: '/var/lib/postgresql/15/main' });
    assert.equal(isOurPostmaster(PID, root, other), false);
  });

  it('leaves alone a process that is not postgres, or whose directory it cannot read', () => {
    assert.equal(
      isOurPostmaster(PID, root, fakeProc({ cmdline: 'sleep\x00600\x00', cwd: root })),
      false,
    );
    assert.equal(isOurPostmaster(PID, root, fakeProc({ cmdline: postgres })), false);
    assert.equal(isOurPostmaster(PID + 1, root, fakeProc({ cmdline: postgres, cwd: root })), false);
    assert.equal(
      isOurPostmaster(PID, databaseDir, fakeProc({ cmdline: postgres, cwd: databaseDir })),
      false,
      'a data directory that does not exist is nobody’s',
    );
  });
});
