import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SessionStateStore, type SessionRecord } from './session-state-store';

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sessionId: randomUUID(),
    status: 'running',
    display: 12,
    port: 5912,
    processes: [{ role: 'xvnc', name: 'Xvnc', pid: 4242, startTicks: '1234' }],
    spec: {
      sessionId: randomUUID(),
      userId: randomUUID(),
      templateId: 'xterm',
      image: 'local',
      app: ['xterm'],
      windowManager: 'twm',
      resources: { cpuMillis: 1000, memoryMb: 512 },
      geometry: { width: 800, height: 600 },
      homeKey: 'alice',
      vncPort: 5900,
      env: {},
    },
    updatedAt: 1,
    ...overrides,
  };
}

describe('SessionStateStore', () => {
  let dir: string;
  let store: SessionStateStore;

  before(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'streamspace-state-')), 'sessions');
    store = new SessionStateStore(dir);
    await store.init();
  });

  after(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('keeps the state directory private', async () => {
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  it('reads back what it saved, privately and without temporary files', async () => {
    const saved = record();
    await store.save(saved);
    await store.save({ ...saved, status: 'hibernated', processes: [], updatedAt: 2 });
    const { records } = await store.loadAll();
    const loaded = records.find((r) => r.sessionId === saved.sessionId);
    assert.equal(loaded?.status, 'hibernated');
    assert.equal(loaded?.updatedAt, 2);
    assert.deepEqual(loaded?.spec, saved.spec);
    assert.equal((await stat(store.file(saved.sessionId, '.json'))).mode & 0o777, 0o600);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.endsWith('.tmp')),
      [],
    );
  });

  it('skips and names files that are not valid records', async () => {
    await writeFile(join(dir, 'broken.json'), '{');
    const mismatched = record();
    await writeFile(join(dir, `${randomUUID()}.json`), JSON.stringify(mismatched));
    await writeFile(
      join(dir, 'bad-status.json'),
      JSON.stringify({ ...record(), status: 'zombie' }),
    );
    const { records, unreadable } = await store.loadAll();
    assert.equal(
      records.some((r) => r.sessionId === mismatched.sessionId),
      false,
    );
    assert.equal(unreadable.length, 3);
    assert.ok(unreadable.includes('broken.json'));
  });

  it('forgets a session completely on remove', async () => {
    const gone = record();
    await store.save(gone);
    for (const suffix of ['.passwd', '.xauth', '.log']) {
      await writeFile(store.file(gone.sessionId, suffix), 'x');
    }
    await store.remove(gone.sessionId);
    const left = (await readdir(dir)).filter((name) => name.startsWith(gone.sessionId));
    assert.deepEqual(left, []);
  });
});
