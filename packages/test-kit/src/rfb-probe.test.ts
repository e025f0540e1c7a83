import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { ENCODING_RAW, RfbError, RfbProbe } from './rfb-probe';
import { openViewerSocket } from './viewer-socket';
import { startTestXvnc, type TestXvnc } from './test-xvnc';
import { waitFor } from './wait-for';

const PASSWORD = 'probe-pw1';
const RED: [number, number, number, number] = [255, 0, 0, 255];

function countColour(probe: RfbProbe, [r, g, b]: [number, number, number, number]): number {
  let count = 0;
  const fb = probe.framebuffer;
  for (let offset = 0; offset < fb.length; offset += 4) {
    if (fb[offset] === r && fb[offset + 1] === g && fb[offset + 2] === b) count += 1;
  }
  return count;
}

async function listenOnce(onSocket: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function portOf(server: Server | WebSocketServer): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return address.port;
}

describe('RfbProbe against a real Xvnc with VNC Authentication', () => {
  let xvnc: TestXvnc;
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'streamspace-probe-'));
    xvnc = await startTestXvnc({
      password: PASSWORD,
      width: 800,
      height: 600,
      // A red xterm in the top-left corner, running /bin/sh in the scratch directory.
      clients: [['xterm', '-geometry', '40x10+0+0', '-bg', 'red', '-fg', 'red']],
      clientEnv: { SHELL: '/bin/sh' },
    });
  });

  after(async () => {
    await xvnc?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('authenticates, reads ServerInit and real pixels of the full screen', async () => {
    const probe = await RfbProbe.connect(await xvnc.connect(), { password: PASSWORD });
    try {
      assert.equal(probe.protocolVersion, '3.8');
      assert.equal(probe.width, 800);
      assert.equal(probe.height, 600);
      assert.match(probe.name, /\S/);
      probe.setPixelFormat();
      probe.setEncodings([ENCODING_RAW]);
      probe.requestUpdate(false);
      const first = await probe.readUpdate();
      const covered = first.rectangles.reduce((sum, rect) => sum + rect.width * rect.height, 0);
      assert.ok(covered >= 800 * 600, `first update covers the screen (${covered} pixels)`);
      // The xterm maps asynchronously: follow incremental updates until its red shows.
      await waitFor('the red xterm in the framebuffer', async () => {
        if (countColour(probe, RED) >= 100) return true;
        probe.requestUpdate(true);
        await probe.readUpdate(2_000);
        return countColour(probe, RED) >= 100;
      });
      assert.ok(probe.distinctColours() >= 2, 'the screen is not one flat colour');
    } finally {
      probe.close();
    }
  });

  it('types into the session: a shell command typed through RFB runs', async () => {
    const probe = await RfbProbe.connect(await xvnc.connect(), { password: PASSWORD });
    try {
      const marker = join(scratch, 'typed-through-rfb');
      // No window manager: focus follows the pointer, so point at the xterm first.
      probe.sendPointer(20, 20);
      probe.typeText(`touch ${marker}\n`);
      await waitFor('the typed command to create its file', () => existsSync(marker));
    } finally {
      probe.close();
    }
  });

  it('works over a WebSocket stream (the /vnc proxy path)', async () => {
    const bridge = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    bridge.on('connection', (socket) => {
      const upstream = connect({ port: xvnc.port, host: '127.0.0.1' });
      const stream = createWebSocketStream(socket);
      stream.pipe(upstream).pipe(stream);
      upstream.on('error', () => stream.destroy());
      stream.on('error', () => upstream.destroy());
    });
    await new Promise((resolve) => bridge.once('listening', resolve));
    try {
      const { stream } = await openViewerSocket(`ws://127.0.0.1:${portOf(bridge)}/`, {});
      const probe = await RfbProbe.connect(stream, { password: PASSWORD });
      probe.setPixelFormat();
      probe.requestUpdate(false);
      const update = await probe.readUpdate();
      assert.ok(update.rectangles.length > 0);
      assert.ok(countColour(probe, RED) >= 100, 'the xterm shows over the WebSocket too');
      probe.close();
    } finally {
      for (const client of bridge.clients) client.terminate();
      await new Promise((resolve) => bridge.close(resolve));
    }
  });

  it('is refused with the server reason on a wrong password', async () => {
    const error = await RfbProbe.connect(await xvnc.connect(), { password: 'wrong-pw' }).then(
      () => assert.fail('a wrong password must be refused'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof RfbError);
    assert.equal(error.code, 'auth_failed');
    assert.match(error.serverReason ?? '', /\S/, 'TigerVNC sends a reason string');
    assert.ok(error.message.includes(error.serverReason!), error.message);
  });

  it('says a password is needed when none is given', async () => {
    await assert.rejects(RfbProbe.connect(await xvnc.connect()), { code: 'auth_failed' });
  });
});

describe('RfbProbe with security type None and broken servers', () => {
  it('connects without a password when the server offers None', async () => {
    const xvnc = await startTestXvnc({ width: 640, height: 480 });
    try {
      const probe = await RfbProbe.connect(await xvnc.connect());
      assert.deepEqual([probe.width, probe.height], [640, 480]);
      probe.setPixelFormat();
      probe.requestUpdate(false);
      await probe.readUpdate();
      assert.equal(probe.framebuffer.length, 640 * 480 * 4);
      probe.close();
    } finally {
      await xvnc.stop();
    }
  });

  it('reports unexpected EOF when the server hangs up mid-handshake', async () => {
    const server = await listenOnce((socket) => socket.end('RFB 003.008\n'));
    try {
      const socket = connect({ port: portOf(server), host: '127.0.0.1' });
      await assert.rejects(RfbProbe.connect(socket), (error: unknown) => {
        assert.ok(error instanceof RfbError);
        assert.equal(error.code, 'unexpected_eof');
        assert.match(error.message, /security type count/);
        return true;
      });
    } finally {
      server.close();
    }
  });

  it('times out against a silent server', async () => {
    const held: Socket[] = [];
    const server = await listenOnce((socket) => held.push(socket));
    try {
      const socket = connect({ port: portOf(server), host: '127.0.0.1' });
      const started = Date.now();
      await assert.rejects(RfbProbe.connect(socket, { timeoutMs: 200 }), { code: 'timeout' });
      assert.ok(Date.now() - started < 5_000);
    } finally {
      for (const socket of held) socket.destroy();
      server.close();
    }
  });

  it('refuses a server that is not RFB', async () => {
    const server = await listenOnce((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    try {
      const socket = connect({ port: portOf(server), host: '127.0.0.1' });
      await assert.rejects(RfbProbe.connect(socket), { code: 'protocol_error' });
    } finally {
      server.close();
    }
  });
});
