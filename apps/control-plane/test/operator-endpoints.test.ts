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

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

async function scrape(baseUrl: string, token?: string): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> =
    token === undefined ? {} : { authorization: `Bearer ${token}` };
  const response = await fetch(`${baseUrl}/metrics`, { headers });
  return { status: response.status, text: await response.text() };
}

describe('/metrics access', () => {
  let system: TestApp;
  let admin: string;
  before(async () => {
    system = await startTestApp({ env: { STREAMSPACE_METRICS_TOKEN: METRICS_TOKEN } });
    admin = await loginAs(system.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
  });
  after(() => system.close());

  it('refuses strangers and users, serves admins and the metrics token', async () => {
    const stranger = await scrape(system.baseUrl);
    assert.equal(stranger.status, 401);
    assert.equal(JSON.parse(stranger.text).error.code, 'unauthenticated');
    assert.equal((await scrape(system.baseUrl, 'not-the-metrics-token')).status, 401);
    const bob = await createUser(system.baseUrl, admin, 'bob');
    assert.equal((await scrape(system.baseUrl, bob.token)).status, 403);

    const scraper = await scrape(system.baseUrl, METRICS_TOKEN);
    assert.equal(scraper.status, 200);
    assert.match(scraper.text, /^# TYPE streamspace_sessions gauge$/m);
    const byAdmin = await scrape(system.baseUrl, admin);
    assert.equal(byAdmin.status, 200);
    assert.match(byAdmin.text, /^# TYPE streamspace_sessions gauge$/m);
  });
});

describe('X-Forwarded-* from clients', () => {
  const loginCookie = async (baseUrl: string) => {
    const response = await api(baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'admin', password: TEST_ADMIN_PASSWORD },
      headers: { 'x-forwarded-proto': 'https' },
    });
    assert.equal(response.status, 200);
    return response.headers.get('set-cookie') ?? '';
  };

  it('ignores X-Forwarded-Proto by default', async () => {
    const system = await startTestApp();
    try {
      assert.doesNotMatch(await loginCookie(system.baseUrl), /Secure/);
    } finally {
      await system.close();
    }
  });

  it('believes it from a proxy named in STREAMSPACE_TRUST_PROXY', async () => {
    const system = await startTestApp({ env: { STREAMSPACE_TRUST_PROXY: '127.0.0.1/8, ::1' } });
    try {
      assert.match(await loginCookie(system.baseUrl), /Secure/);
    } finally {
      await system.close();
    }
  });
});
