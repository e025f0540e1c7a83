import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { z } from 'zod';
import {
  CloseCode,
  MAX_LINK_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  type AgentMessage,
  type BinaryLink,
  type Clock,
  type ClockTimer,
  type CommandResultMessage,
  type ControlPlaneMessage,
  type HelloMessage,
  type SessionObservation,
  type StreamEndpoint,
} from '@streamspace/protocol';
import { agentCredentialOf, authenticateAgent } from '../agents/agent-credentials';
import type { Db } from '../db/database';
import type { Metrics } from '../metrics/metrics';
import { createAgentConnection, type AgentConnection } from './agent-connection';
import { createListeners } from './listeners';
import { createWsBinaryLink } from './ws-binary-link';

/** The agent link's path (docs/api.md). */
export const AGENT_CONNECT_PATH = '/api/v1/agents/connect';
/** An agent must send hello within this many ms of the upgrade. */
export const HELLO_TIMEOUT_MS = 10_000;

export interface AgentHubDeps<E extends StreamEndpoint> {
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** This process among control-plane replicas (recorded as agents.connected_replica). */
  replicaId: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  helloTimeoutMs?: number;
  /** The stream side of each agent link (one per connection, made at hello). */
  createStreamEndpoint?: (link: BinaryLink, context: { agentId: string; logger: Logger }) => E;
}

export type CommandAck = { commandId: string };
export type CommandResult = z.infer<typeof CommandResultMessage>;

export type AgentHub<E extends StreamEndpoint = StreamEndpoint> = ReturnType<
  typeof createAgentHub<E>
>;

/**
 * Holds every agent's WebSocket on this process (BRIEF.md, "agent hub"): authenticates the
 * upgrade, runs hello and heartbeats, and hands messages to the command queue and the
 * sessions module through events.
 */
export function createAgentHub<E extends StreamEndpoint = StreamEndpoint>(deps: AgentHubDeps<E>) {
  const { db, clock, metrics, replicaId, heartbeatIntervalMs, heartbeatTimeoutMs } = deps;
  const logger = deps.logger.child({ module: 'hub' });
  const helloTimeoutMs = deps.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
  const wss = new WebSocketServer({
    noServer: true,
    // VNC data is already compressed; deflate cost 19× on the stream path (TARGETS.md).
    perMessageDeflate: false,
    maxPayload: MAX_LINK_MESSAGE_BYTES,
  });
  /** Connections that completed hello, by agent id. */
  const active = new Map<string, AgentConnection<E>>();
  /** Every authenticated socket, including those still waiting for hello. */
  const all = new Set<AgentConnection<E>>();
  const hello = createListeners<[agentId: string, hello: HelloMessage]>(logger, 'hello');
  const reports = createListeners<[agentId: string, observation: SessionObservation]>(
    logger,
    'session_report',
  );
  const offline = createListeners<[agentId: string, reason: string]>(logger, 'offline');
  const acks = createListeners<[agentId: string, ack: CommandAck]>(logger, 'command_ack');
  const results = createListeners<[agentId: string, result: CommandResult]>(
    logger,
    'command_result',
  );
  /** Offline bookkeeping still running per agent: awaited by the next hello and by close(). */
  const releases = new Map<string, Promise<unknown>>();
  /** Heartbeats received since the last flush: agent id → ms since the epoch. */
  const heartbeatsDue = new Map<string, number>();
  /** The heartbeat flush in progress, if any. */
  let flushing: Promise<void> | undefined;
  let stopped = false;
  let lastPingAt = clock.now();
  let lastStaleSweepAt = clock.now();
  let tickTimer: ClockTimer | undefined;
  const tickMs = Math.max(50, Math.min(1_000, Math.floor(heartbeatIntervalMs / 2)));

  const host = {
    clock,
    async activate(connection: AgentConnection<E>, message: HelloMessage): Promise<boolean> {
      const previous = active.get(connection.agentId);
      // Become current before closing the old socket, so its close does not mark us offline.
      active.set(connection.agentId, connection);
      metrics.connectedAgents.inc({ platform: message.platform });
      previous?.close(CloseCode.replaced, 'replaced by a newer connection of the same agent');
      // A previous link's "offline" write must land before this link's "online" one.
      await releases.get(connection.agentId);
      const now = new Date(clock.now());
      const updated = await db
        .updateTable('agents')
        .set({
          status: 'online',
          connectedReplica: replicaId,
          lastHeartbeatAt: now,
          agentVersion: message.agentVersion,
          clusterInfo: JSON.stringify(message.clusterInfo),
          // The agent's own capacity, unless an admin set one (PUT /agents/:id).
          capacity: sql<string>`CASE WHEN capacity_from_admin THEN capacity ELSE ${JSON.stringify(message.capacity)}::jsonb END`,
          updatedAt: now,
        })
        .where('id', '=', connection.agentId)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n || connection.closing) {
        if (active.get(connection.agentId) === connection) {
          active.delete(connection.agentId);
          metrics.connectedAgents.dec({ platform: message.platform });
        }
        return connection.closing;
      }
      if (deps.createStreamEndpoint !== undefined) {
        connection.endpoint = deps.createStreamEndpoint(
          createWsBinaryLink(connection.ws, connection.socket),
          { agentId: connection.agentId, logger: connection.logger },
        );
      }
      connection.send({
        type: 'welcome',
        protocolVersion: PROTOCOL_VERSION,
        agentId: connection.agentId,
        heartbeatIntervalMs,
        heartbeatTimeoutMs,
      });
      connection.logger.info(
        { agentVersion: message.agentVersion, inventory: message.inventory.length },
        'agent connected',
      );
      await hello.emit(connection.agentId, message);
      return true;
    },
    async dispatch(connection: AgentConnection<E>, message: AgentMessage): Promise<void> {
      const agentId = connection.agentId;
      switch (message.type) {
        case 'heartbeat':
          // Written in one batch per tick: thousands of agents must not mean thousands of
          // UPDATEs a second. Liveness on this process uses lastSeenAt, not the row.
          heartbeatsDue.set(agentId, clock.now());
          return;
        case 'command_ack':
          await acks.emit(agentId, { commandId: message.commandId });
          return;
        case 'command_result':
          await results.emit(agentId, message);
          return;
        case 'session_report':
          await reports.emit(agentId, message.observation);
          return;
        case 'error':
          connection.logger.warn({ code: message.code }, 'agent reported an error');
          return;
        case 'hello':
          return;
      }
    },
    released(connection: AgentConnection<E>, reason: string): void {
      all.delete(connection);
      connection.endpoint?.closeAll(reason);
      if (active.get(connection.agentId) !== connection) return;
      active.delete(connection.agentId);
      if (connection.hello !== undefined)
        metrics.connectedAgents.dec({ platform: connection.hello.platform });
      connection.logger.info({ reason }, 'agent disconnected');
      // Only the agent's status changes: its sessions keep running on the agent (issue 2 #6).
      const done = db
        .updateTable('agents')
        .set({ status: 'offline', connectedReplica: null, updatedAt: new Date(clock.now()) })
        .where('id', '=', connection.agentId)
        .where('connectedReplica', '=', replicaId)
        .execute()
        .catch((error: unknown) => logger.error({ err: error }, 'marking agent offline failed'))
        .then(() => offline.emit(connection.agentId, reason))
        .finally(() => {
          if (releases.get(connection.agentId) === done) releases.delete(connection.agentId);
        });
      releases.set(connection.agentId, done);
    },
    countMessage(type: string, outcome: string): void {
      metrics.agentMessages.inc({ type, outcome });
    },
  };

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    if (stopped) {
      refuse(socket, 503, 'internal', 'the control plane is shutting down');
      return;
    }
    const agent = await authenticateAgent(db, agentCredentialOf(request.headers)).catch(
      (error: unknown) => {
        logger.error({ err: error }, 'agent authentication failed');
        return undefined;
      },
    );
    if (agent === undefined) {
      refuse(socket, 500, 'internal', 'could not check the agent credential');
      return;
    }
    if (agent === null) {
      refuse(
        socket,
        401,
        'unauthenticated',
        'wrong or missing agent credential (Authorization: Bearer <agent secret> and X-StreamSpace-Agent-Id)',
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      const connection = createAgentConnection<E>(
        host,
        ws,
        socket,
        agent,
        logger.child({ agentId: agent.id }),
      );
      all.add(connection);
      if (stopped) connection.close(CloseCode.serverShutdown, 'the control plane is shutting down');
    });
  }

  function tick(): void {
    tickTimer = undefined;
    if (stopped) return;
    const now = clock.now();
    for (const connection of [...all]) {
      const overdue = connection.overdue(helloTimeoutMs, heartbeatTimeoutMs);
      if (overdue === undefined) continue;
      connection.close(
        connection.hello === undefined ? CloseCode.invalidMessage : CloseCode.heartbeatTimeout,
        overdue,
      );
    }
    if (now - lastPingAt >= heartbeatIntervalMs) {
      lastPingAt = now;
      // Keeps NAT and proxies from dropping an idle link; liveness itself is the heartbeat.
      for (const connection of active.values()) connection.ws.ping();
    }
    void flushHeartbeats();
    if (now - lastStaleSweepAt >= heartbeatIntervalMs) {
      lastStaleSweepAt = now;
      void markStaleAgentsOffline().catch((error: unknown) =>
        logger.error({ err: error }, 'stale agent sweep failed'),
      );
    }
    tickTimer = clock.setTimeout(tick, tickMs);
  }

  /**
   * Write the heartbeats received since the last flush in one UPDATE. One flush at a time:
   * when a flush outlasts the tick (a loaded database), the next tick's heartbeats wait for
   * the next flush rather than starting another UPDATE over overlapping rows. Overlapping
   * flushes deadlocked and piled up on the pool, starving every other query (2,000 agents).
   */
  function flushHeartbeats(): Promise<void> {
    flushing ??= writeHeartbeats()
      .catch((error: unknown) => logger.error({ err: error }, 'recording heartbeats failed'))
      .finally(() => {
        flushing = undefined;
      });
    return flushing;
  }

  async function writeHeartbeats(): Promise<void> {
    if (heartbeatsDue.size === 0) return;
    const batch = [...heartbeatsDue];
    heartbeatsDue.clear();
    const ids = batch.map(([agentId]) => agentId);
    const times = batch.map(([, at]) => new Date(at).toISOString());
    try {
      // GREATEST: a heartbeat never moves backwards.
      await sql`
        UPDATE agents SET last_heartbeat_at = GREATEST(agents.last_heartbeat_at, beat.at)
        FROM unnest(${ids}::uuid[], ${times}::timestamptz[]) AS beat(id, at)
        WHERE agents.id = beat.id
      `.execute(db);
    } catch (error) {
      // Kept for the next flush unless a newer heartbeat of the agent arrived meanwhile.
      for (const [agentId, at] of batch)
        if (!heartbeatsDue.has(agentId)) heartbeatsDue.set(agentId, at);
      throw error;
    }
  }

  /** Agents another replica held that stopped heartbeating (a replica that crashed). */
  async function markStaleAgentsOffline(): Promise<void> {
    const cutoff = new Date(clock.now() - heartbeatTimeoutMs);
    const rows = await db
      .updateTable('agents')
      .set({ status: 'offline', connectedReplica: null, updatedAt: new Date(clock.now()) })
      .where('status', '=', 'online')
      .where((eb) => eb.or([eb('lastHeartbeatAt', 'is', null), eb('lastHeartbeatAt', '<', cutoff)]))
      .where((eb) =>
        eb.or([eb('connectedReplica', 'is', null), eb('connectedReplica', '<>', replicaId)]),
      )
      .returning('id')
      .execute();
    for (const row of rows) await offline.emit(row.id, 'no heartbeat (its control plane is gone)');
  }

  tickTimer = clock.setTimeout(tick, tickMs);

  return {
    /** Serve agent upgrades on this HTTP server; other paths are left to other handlers. */
    attach(server: Server): void {
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (!isAgentConnectPath(request.url)) return;
        void upgrade(request, socket, head);
      });
    },
    /** True when this process holds the agent's socket and hello completed. */
    isConnected: (agentId: string): boolean => active.has(agentId),
    connectedAgentIds: (): string[] => [...active.keys()],
    /** Send a control message; false when this process does not hold the agent's socket. */
    send(agentId: string, message: ControlPlaneMessage): boolean {
      return active.get(agentId)?.send(message) ?? false;
    },
    /** The stream side of the agent's current link, if this process holds it. */
    streamEndpoint: (agentId: string): E | undefined => active.get(agentId)?.endpoint,
    /** Close the agent's socket (e.g. CloseCode.agentDeleted). */
    disconnect(agentId: string, code: number, reason: string): void {
      for (const connection of [...all])
        if (connection.agentId === agentId) connection.close(code, reason);
    },
    onAgentHello: hello.add,
    onSessionReport: reports.add,
    onAgentOffline: offline.add,
    onCommandAck: acks.add,
    onCommandResult: results.add,
    /** Close every agent socket with serverShutdown and stop the timers. */
    async close(): Promise<void> {
      stopped = true;
      if (tickTimer !== undefined) clock.clearTimeout(tickTimer);
      for (const connection of [...all])
        connection.close(CloseCode.serverShutdown, 'the control plane is shutting down');
      await flushHeartbeats(); // waits for a flush in progress
      await flushHeartbeats();
      await db
        .updateTable('agents')
        .set({ status: 'offline', connectedReplica: null })
        .where('connectedReplica', '=', replicaId)
        .execute()
        .catch((error: unknown) => logger.warn({ err: error }, 'marking agents offline failed'));
      await Promise.allSettled([...releases.values()]);
      wss.close();
    },
  };
}

export function isAgentConnectPath(url: string | undefined): boolean {
  return url !== undefined && url.split('?')[0] === AGENT_CONNECT_PATH;
}

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  const reason = status === 401 ? 'Unauthorized' : status === 503 ? 'Service Unavailable' : 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
