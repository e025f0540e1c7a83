import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { allocateDisplay, allocatePort, displayInUse, RFB_BASE_PORT } from './display-allocator';

async function listen(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

describe('display allocation', () => {
  it('takes the lowest display neither reserved nor held by another X server', () => {
    const held = new Set([10, 12]);
    const display = allocateDisplay({ first: 10, last: 20 }, new Set([11]), (n) => held.has(n));
    assert.equal(display, 13);
  });

  it('reports exhaustion instead of wrapping around', () => {
    const display = allocateDisplay({ first: 10, last: 11 }, new Set([10]), (n) => n === 11);
    assert.equal(display, undefined);
  });

  it('sees another X server by its lock file or its socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streamspace-x11-'));
    try {
      await mkdir(join(dir, '.X11-unix'));
      assert.equal(displayInUse(42, dir), false);
      await writeFile(join(dir, '.X42-lock'), '  1234\n');
      assert.equal(displayInUse(42, dir), true);
      await writeFile(join(dir, '.X11-unix', 'X43'), '');
      assert.equal(displayInUse(43, dir), true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('port allocation', () => {
  it('uses 5900 + display when that port is free, another port when it is taken', async () => {
    // Find a port above 5900 that is free right now and derive the display from it.
    const probe = await listen(0);
    const port = portOf(probe);
    await new Promise((resolve) => probe.close(resolve));
    assert.ok(port > RFB_BASE_PORT);
    const display = port - RFB_BASE_PORT;

    assert.equal(await allocatePort(display, new Set()), port);

    const holder = await listen(port);
    try {
      const other = await allocatePort(display, new Set());
      assert.notEqual(other, port, 'a taken port is never handed out');
      const check = await listen(other);
      check.close();
    } finally {
      holder.close();
    }
  });

  it('skips ports the agent has reserved for sessions it is still starting', async () => {
    const probe = await listen(0);
    const port = portOf(probe);
    await new Promise((resolve) => probe.close(resolve));
    const other = await allocatePort(port - RFB_BASE_PORT, new Set([port]));
    assert.notEqual(other, port);
  });
});
