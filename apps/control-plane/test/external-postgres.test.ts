import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSystemPostgres, type SystemPostgres } from '@streamspace/test-kit';
import { api, createUser, loginAs, startTestApp, TEST_ADMIN_PASSWORD } from './test-app';

describe('DATABASE_URL: a separately started PostgreSQL', () => {
  let server: SystemPostgres;
  before(async () => {
    server = await startSystemPostgres();
  });
  after(() => server.stop());

  it('migrates it, serves from it, and finds the same data after a restart', async () => {
    const database = { url: server.url, drop: async () => {} };
    const first = await startTestApp({ database });
    const admin = await loginAs(first.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
    await createUser(first.baseUrl, admin, 'dave');
    await api(first.baseUrl, 'PATCH', '/api/v1/templates/terminal', {
      token: admin,
      body: { name: 'Shell' },
    });
    await first.stop();

    const second = await startTestApp({ database });
    try {
      const token = await loginAs(second.baseUrl, 'dave', 'dave-password');
      const me = await api(second.baseUrl, 'GET', '/api/v1/auth/me', { token });
      assert.equal(me.body.username, 'dave');
      const terminal = await api(second.baseUrl, 'GET', '/api/v1/templates/terminal', { token });
      assert.equal(
        terminal.body.name,
        'Shell',
        'the edit survived and the seed did not overwrite it',
      );
      const ready = await api(second.baseUrl, 'GET', '/api/v1/ready');
      assert.deepEqual(ready.body, { status: 'ok', checks: { database: 'ok' } });
    } finally {
      await second.stop();
    }
  });
});
