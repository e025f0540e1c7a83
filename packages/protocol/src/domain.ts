import { z } from 'zod';

export const PLATFORMS = ['kubernetes', 'docker', 'local'] as const;
export const Platform = z.enum(PLATFORMS);
export type Platform = z.infer<typeof Platform>;

/** How people read a platform's name (UI labels, timeline reasons). */
export const PLATFORM_DISPLAY_NAMES: Readonly<Record<Platform, string>> = {
  kubernetes: 'Kubernetes',
  docker: 'Docker',
  local: 'Local machine',
};

/** What a user may ask for when launching: a platform, or `auto` to let the scheduler choose. */
export const PlatformChoice = z.enum(['auto', ...PLATFORMS]);
export type PlatformChoice = z.infer<typeof PlatformChoice>;

export const AgentStatus = z.enum(['online', 'offline', 'draining']);
export type AgentStatus = z.infer<typeof AgentStatus>;

export const Role = z.enum(['admin', 'user']);
export type Role = z.infer<typeof Role>;

export const CommandType = z.enum([
  'start_session',
  'stop_session',
  'hibernate_session',
  'wake_session',
]);
export type CommandType = z.infer<typeof CommandType>;

/** pending → sent → acked → completed | failed | expired (BRIEF.md, "Agent link protocol"). */
export const CommandState = z.enum(['pending', 'sent', 'acked', 'completed', 'failed', 'expired']);
export type CommandState = z.infer<typeof CommandState>;

export const Uuid = z.uuid();

/** Labels as Kubernetes spells them: short keys and values, used for agent selection. */
export const Labels = z
  .record(z.string().min(1).max(63), z.string().max(63))
  .refine((labels) => Object.keys(labels).length <= 32, 'at most 32 labels');
export type Labels = z.infer<typeof Labels>;

export const Capacity = z.object({
  /** Sessions the agent accepts at once. */
  maxSessions: z.int().min(0).max(100_000),
});
export type Capacity = z.infer<typeof Capacity>;
