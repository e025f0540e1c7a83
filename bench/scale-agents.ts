// Load generator for bench/control-plane-scale.ts: many light agents in one process, each a
// plain `ws` client speaking the real agent link protocol (packages/protocol): hello with its
// inventory, heartbeats at the interval the welcome names, and an immediate command_ack +
// command_result for every command. No driver, no stream mux: the control plane's cost per
// agent is what is measured, not the agent's.
//
// Usage: tsx bench/scale-agents.ts <control plane url> <agents.json> <first> <count>
// Prints {"port":P} once its loopback control server listens, then waits for:
//   POST /connect  connect every agent (at most CONNECT_IN_FLIGHT handshakes at once) and
//                  answer when all said welcome (or CONNECT_DEADLINE_MS passed)
//   GET  /stats    counters, plus the commands received since the previous call
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import {
  MAX_LINK_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  parseControlPlaneMessage,
  type AgentMessage,
} from '@streamspace/protocol';
import { wallClockMs, type ScaleAgent, type ScaleAgentStats } from './scale-support';

const CONNECT_IN_FLIGHT = 100;
const CONNECT_DEADLINE_MS = 120_000;

const [controlPlaneUrl, agentsFile, firstArg, countArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const everyAgent = JSON.parse(await readFile(agentsFile, 'utf8')) as ScaleAgent[];
const agents = everyAgent.slice(Number(firstArg), Number(firstArg) + Number(countArg));
const url = `${controlPlaneUrl.replace(/^http/, 'ws')}/api/v1/agents/connect`;
const stats: ScaleAgentStats = {
  welcomed: 0,
  closed: 0,
  errors: 0,
  heartbeatsSent: 0,
  commandsReceived: 0,
  closeCodes: {},
  commands: [],
};
const sockets: WebSocket[] = [];
const timers: NodeJS.Timeout[] = [];
let stopping = false;

function connectAgent(agent: ScaleAgent): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${agent.secret}`, 'X-StreamSpace-Agent-Id': agent.id },
      perMessageDeflate: false,
      maxPayload: MAX_LINK_MESSAGE_BYTES,
      handshakeTimeout: 30_000,
    });
    sockets.push(ws);
    const send = (message: AgentMessage) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
    };
    let welcomed = false;
    ws.on('open', () =>
      send({
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        agentId: agent.id,
        platform: 'local',
        agentVersion: 'bench-scale',
        capacity: { maxSessions: 1000 },
        region: 'bench',
        labels: {},
        clusterInfo: {},
        inventory: agent.running.map((sessionId) => ({
          sessionId,
          status: 'running' as const,
          details: {},
        })),
      }),
    );
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const at = wallClockMs();
      const parsed = parseControlPlaneMessage(data.toString('utf8'));
      if (!parsed.ok) return void (stats.errors += 1);
      const message = parsed.message;
      if (message.type === 'welcome') {
        welcomed = true;
        stats.welcomed += 1;
        // A random phase, so that heartbeats spread over the interval as real agents' do.
        const interval = message.heartbeatIntervalMs;
        const first = setTimeout(() => {
          const beat = () => {
            send({ type: 'heartbeat', activeSessions: agent.running.length });
            stats.heartbeatsSent += 1;
          };
          beat();
          timers.push(setInterval(beat, interval));
        }, Math.random() * interval);
        timers.push(first);
        resolve(true);
      } else if (message.type === 'command') {
        const { command, commandId } = message;
        stats.commandsReceived += 1;
        stats.commands.push({ commandId, type: command.type, sessionId: command.sessionId, at });
        send({ type: 'command_ack', commandId });
        send({
          type: 'command_result',
          commandId,
          outcome:
            command.type === 'start_session' || command.type === 'wake_session'
              ? {
                  ok: true,
                  observation: { sessionId: command.sessionId, status: 'running', details: {} },
                }
              : { ok: true },
        });
      } else if (message.type === 'error') {
        stats.errors += 1;
      }
    });
    ws.on('error', () => {
      stats.errors += 1;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (!stopping) {
        stats.closed += 1;
        const key = `${code} ${reason.toString('utf8')}`.trim();
        stats.closeCodes[key] = (stats.closeCodes[key] ?? 0) + 1;
      }
      if (!welcomed) resolve(false);
    });
  });
}

async function connectAll(): Promise<{ ms: number; welcomed: number; failed: number }> {
  const started = performance.now();
  const deadline = started + CONNECT_DEADLINE_MS;
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < agents.length && performance.now() < deadline) {
      const agent = agents[next++] as ScaleAgent;
      if (!(await connectAgent(agent))) failed += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_IN_FLIGHT, agents.length) }, lane));
  return { ms: performance.now() - started, welcomed: stats.welcomed, failed };
}

const server = createServer((request, response) => {
  const reply = (body: unknown) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(body));
  };
  if (request.method === 'POST' && request.url === '/connect') {
    void connectAll().then(reply);
  } else if (request.method === 'GET' && request.url === '/stats') {
    reply({ ...stats });
    stats.commands = [];
  } else {
    response.statusCode = 404;
    response.end();
  }
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port, agents: agents.length })}\n`);
});

process.on('SIGTERM', () => {
  stopping = true;
  for (const timer of timers) clearTimeout(timer);
  for (const ws of sockets) ws.terminate();
  server.close();
  process.exit(0);
});
