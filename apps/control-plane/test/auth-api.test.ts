import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  api,
  createUser,
  loginAs,
  startTestApp,
  TEST_ADMIN_PASSWORD,
  type TestApp,
} from './test-app';

describe('accounts and tokens', () => {
  let system: TestApp;
  let admin: string;
  before(async () => {
    system = await startTestApp();
    admin = await loginAs(system.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
  });
  after(() => system.close());

  it('logs in with the bootstrap admin and sets an HttpOnly session cookie', async () => {
    const response = await api(system.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'admin', password: TEST_ADMIN_PASSWORD },
    });
    assert.equal(response.status, 200);
    assert.match(response.body.token, /^ssu_/);
    assert.equal(response.body.user.role, 'admin');
    const cookie = response.headers.get('set-cookie') ?? '';
    assert.match(cookie, /streamspace_session=ssu_/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const me = await api(system.baseUrl, 'GET', '/api/v1/auth/me', {
      headers: { cookie: cookie.split(';')[0] ?? '' },
    });
    assert.equal(me.status, 200);
    assert.equal(me.body.username, 'admin');
  });

  it('refuses a wrong password with the same message as an unknown user', async () => {
    const wrong = await api(system.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'admin', password: 'nope-nope' },
    });
    const unknown = await api(system.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'ghost', password: 'nope-nope' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'unauthenticated');
    assert.deepEqual(unknown.body, wrong.body);
  });

  it('ends a login at logout', async () => {
    const token = await loginAs(system.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
    assert.equal((await api(system.baseUrl, 'POST', '/api/v1/auth/logout', { token })).status, 204);
    const after = await api(system.baseUrl, 'GET', '/api/v1/auth/me', { token });
    assert.equal(after.status, 401);
  });

  it('creates, uses and revokes a personal API token', async () => {
    const created = await api(system.baseUrl, 'POST', '/api/v1/auth/tokens', {
      token: admin,
      body: { name: 'ci' },
    });
    assert.equal(created.status, 201);
    const personal = created.body.token as string;
    assert.match(personal, /^ssp_/);
    assert.equal(
      (await api(system.baseUrl, 'GET', '/api/v1/auth/me', { token: personal })).status,
      200,
    );
    const listed = await api(system.baseUrl, 'GET', '/api/v1/auth/tokens', { token: admin });
    assert.deepEqual(
      listed.body.items.map((t: { name: string }) => t.name),
      ['ci'],
    );
    const revoked = await api(
      system.baseUrl,
      'DELETE',
      `/api/v1/auth/tokens/${created.body.apiToken.id}`,
      { token: admin },
    );
    assert.equal(revoked.status, 204);
    assert.equal(
      (await api(system.baseUrl, 'GET', '/api/v1/auth/me', { token: personal })).status,
      401,
    );
  });

  it('keeps admin routes from users and hides their existence behind clear codes', async () => {
    const alice = await createUser(system.baseUrl, admin, 'alice');
    const listUsers = await api(system.baseUrl, 'GET', '/api/v1/users', { token: alice.token });
    assert.equal(listUsers.status, 403);
    assert.equal(listUsers.body.error.code, 'forbidden');
    const anonymous = await api(system.baseUrl, 'GET', '/api/v1/templates');
    assert.equal(anonymous.status, 401);
    const limited = await api(system.baseUrl, 'PATCH', `/api/v1/users/${alice.id}`, {
      token: admin,
      body: { idleTimeoutMinutes: 15, maxDurationMinutes: 120 },
    });
    assert.equal(limited.body.idleTimeoutMinutes, 15);
    assert.equal(limited.body.maxDurationMinutes, 120);
    const disabled = await api(system.baseUrl, 'PATCH', `/api/v1/users/${alice.id}`, {
      token: admin,
      body: { disabled: true },
    });
    assert.equal(disabled.body.disabled, true);
    assert.equal(
      (await api(system.baseUrl, 'GET', '/api/v1/auth/me', { token: alice.token })).status,
      401,
    );
  });

  it('answers bad input with a clear error and keeps serving', async () => {
    const malformed = await api(system.baseUrl, 'POST', '/api/v1/auth/login', {
      rawBody: '{"username": ',
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'bad_request');
    assert.match(malformed.body.error.message, /JSON/);
    const oversized = await api(system.baseUrl, 'POST', '/api/v1/auth/login', {
      rawBody: JSON.stringify({ username: 'admin', password: 'x'.repeat(300 * 1024) }),
    });
    assert.equal(oversized.status, 413);
    assert.equal(oversized.body.error.code, 'payload_too_large');
    const invalid = await api(system.baseUrl, 'POST', '/api/v1/users', {
      token: admin,
      body: { username: 'X Y', password: 'short' },
    });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, 'validation_failed');
    assert.equal((await api(system.baseUrl, 'GET', '/api/v1/health')).status, 200);
  });

  it('seeds the catalog and lets admins disable a template', async () => {
    const catalog = await api(system.baseUrl, 'GET', '/api/v1/templates', { token: admin });
    const ids = catalog.body.items.map((t: { id: string }) => t.id).sort();
    assert.deepEqual(ids, ['browser', 'desktop', 'terminal']);
    const bob = await createUser(system.baseUrl, admin, 'bob');
    await api(system.baseUrl, 'PATCH', '/api/v1/templates/browser', {
      token: admin,
      body: { enabled: false },
    });
    const seen = await api(system.baseUrl, 'GET', '/api/v1/templates', { token: bob.token });
    assert.deepEqual(seen.body.items.map((t: { id: string }) => t.id).sort(), [
      'desktop',
      'terminal',
    ]);
    assert.equal(
      (await api(system.baseUrl, 'GET', '/api/v1/templates/browser', { token: bob.token })).status,
      404,
    );
  });
});
