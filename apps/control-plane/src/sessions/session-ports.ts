import type { Transaction } from 'kysely';
import type { CommandPayload, Platform, PlatformChoice } from '@streamspace/protocol';
import type { Database } from '../db/schema';

/** What the sessions module needs from the command queue (apps/control-plane/src/commands). */
export interface CommandSink {
  enqueue(
    input: { agentId: string; sessionId: string; payload: CommandPayload; deadlineMs?: number },
    trx?: Transaction<Database>,
  ): Promise<unknown>;
}

/** What the sessions module needs from agent selection (apps/control-plane/src/agents). */
export type AgentPicker = (
  criteria: { platform: PlatformChoice; agentId?: string },
  /** The caller's transaction, so the choice and the new session's row commit together. */
  executor?: Transaction<Database>,
) => Promise<{ id: string; name: string; platform: Platform }>;

/**
 * Refuses (ApiError `no_agent_available`) when the agent holds more sessions in load states
 * than its capacity, counted in `executor`'s transaction: a wake on a full agent.
 */
export type CapacityCheck = (agentId: string, executor: Transaction<Database>) => Promise<void>;

/** Tells live views (server-sent events, other replicas) that a session changed. */
export type SessionChanged = (sessionId: string) => void;
