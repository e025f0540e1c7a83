import { z } from 'zod';
import { Capacity, CommandType, Labels, Platform, Uuid } from './domain';
import { DriverErrorCode, ErrorCode } from './errors';
import { SessionObservation, SessionSpec } from './session-spec';
import { FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD_BYTES } from './stream-frames';

/** Largest text (JSON) message either side accepts on the agent link, in bytes. */
export const MAX_CONTROL_MESSAGE_BYTES = 1024 * 1024;

/**
 * Largest WebSocket message of any kind on the agent link, in bytes (both sides set it as
 * the socket's maxPayload; a bigger message closes the link with 1009). A binary message
 * holds whole stream frames: room for 4 full-size frames lets a sender batch small frames
 * behind a large one. Text messages are held to MAX_CONTROL_MESSAGE_BYTES separately.
 */
export const MAX_LINK_MESSAGE_BYTES = 4 * (FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES);

// ---- commands: the payload of a `command` message -------------------------------------

export const StartSessionCommand = z.object({
  type: z.literal('start_session'),
  sessionId: Uuid,
  spec: SessionSpec,
});
export const WakeSessionCommand = z.object({
  type: z.literal('wake_session'),
  sessionId: Uuid,
  spec: SessionSpec,
});
export const StopSessionCommand = z.object({
  type: z.literal('stop_session'),
  sessionId: Uuid,
  deleteHome: z.boolean(),
  /** The home to delete when deleteHome is set. */
  homeKey: z.string().max(64).optional(),
});
export const HibernateSessionCommand = z.object({
  type: z.literal('hibernate_session'),
  sessionId: Uuid,
});
export const CommandPayload = z.discriminatedUnion('type', [
  StartSessionCommand,
  WakeSessionCommand,
  StopSessionCommand,
  HibernateSessionCommand,
]);
export type CommandPayload = z.infer<typeof CommandPayload>;
// Compile-time check that the payload union covers exactly the command types.
export const COMMAND_PAYLOAD_TYPES: readonly CommandType[] = CommandPayload.options.map(
  (option) => option.shape.type.value,
);

export const CommandOutcome = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), observation: SessionObservation.optional() }),
  z.object({
    ok: z.literal(false),
    error: z.object({ code: DriverErrorCode, message: z.string().max(4096) }),
  }),
]);
export type CommandOutcome = z.infer<typeof CommandOutcome>;

// ---- agent → control plane ------------------------------------------------------------

export const HelloMessage = z.object({
  type: z.literal('hello'),
  protocolVersion: z.int().min(0),
  agentId: Uuid,
  platform: Platform,
  agentVersion: z.string().min(1).max(64),
  capacity: Capacity,
  region: z.string().max(64),
  labels: Labels,
  clusterInfo: z.record(z.string(), z.string().max(1024)),
  /** Every session the driver runs or keeps right now, for reconciliation. */
  inventory: z.array(SessionObservation).max(100_000),
});
export type HelloMessage = z.infer<typeof HelloMessage>;

export const HeartbeatMessage = z.object({
  type: z.literal('heartbeat'),
  activeSessions: z.int().min(0),
});

export const CommandAckMessage = z.object({
  type: z.literal('command_ack'),
  commandId: Uuid,
});

export const CommandResultMessage = z.object({
  type: z.literal('command_result'),
  commandId: Uuid,
  outcome: CommandOutcome,
});

/** Something happened to a session on the agent's own initiative (it died, it was removed). */
export const SessionReportMessage = z.object({
  type: z.literal('session_report'),
  observation: SessionObservation,
});

export const ErrorMessage = z.object({
  type: z.literal('error'),
  code: ErrorCode,
  message: z.string().max(4096),
});

export const AgentMessage = z.discriminatedUnion('type', [
  HelloMessage,
  HeartbeatMessage,
  CommandAckMessage,
  CommandResultMessage,
  SessionReportMessage,
  ErrorMessage,
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

// ---- control plane → agent ------------------------------------------------------------

export const WelcomeMessage = z.object({
  type: z.literal('welcome'),
  protocolVersion: z.int(),
  agentId: Uuid,
  /** How often the agent sends a heartbeat, in ms. */
  heartbeatIntervalMs: z.int().positive(),
  /** Silence after which the control plane marks the agent offline, in ms. */
  heartbeatTimeoutMs: z.int().positive(),
});
export type WelcomeMessage = z.infer<typeof WelcomeMessage>;

export const CommandMessage = z.object({
  type: z.literal('command'),
  commandId: Uuid,
  /** ISO 8601; the agent should not start work on a command past its deadline. */
  deadline: z.iso.datetime(),
  command: CommandPayload,
});
export type CommandMessage = z.infer<typeof CommandMessage>;

export const ControlPlaneMessage = z.discriminatedUnion('type', [
  WelcomeMessage,
  CommandMessage,
  ErrorMessage,
]);
export type ControlPlaneMessage = z.infer<typeof ControlPlaneMessage>;

export type ParsedMessage<T> =
  | { ok: true; message: T }
  | { ok: false; code: 'invalid_message' | 'unknown_message'; message: string };

/**
 * Parse one text frame. Malformed JSON and schema violations are `invalid_message`; a
 * well-formed message whose `type` this version does not know is `unknown_message`.
 */
export function parseMessage<T>(
  schema: z.ZodType<T> & { options: readonly { shape: { type: { value: string } } }[] },
  text: string,
): ParsedMessage<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: 'invalid_message', message: 'message is not valid JSON' };
  }
  const known = schema.options.map((option) => option.shape.type.value);
  const type =
    typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
  if (typeof type !== 'string') {
    return { ok: false, code: 'invalid_message', message: 'message has no string "type"' };
  }
  if (!known.includes(type)) {
    return {
      ok: false,
      code: 'unknown_message',
      message: `unknown message type "${type.slice(0, 64)}"`,
    };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    return {
      ok: false,
      code: 'invalid_message',
      message: z.prettifyError(result.error).slice(0, 2048),
    };
  }
  return { ok: true, message: result.data };
}

export function parseAgentMessage(text: string): ParsedMessage<AgentMessage> {
  return parseMessage(AgentMessage, text);
}

export function parseControlPlaneMessage(text: string): ParsedMessage<ControlPlaneMessage> {
  return parseMessage(ControlPlaneMessage, text);
}
