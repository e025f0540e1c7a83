import { z } from 'zod';
import { Uuid } from './domain';
import { SessionObservation } from './session-spec';

/** What the control plane did or will do about an orphan (docs/lifecycle.md, "Orphans"). */
export const OrphanStatus = z.enum([
  'reported',
  'removing',
  'removed',
  'remove_failed',
  'left',
  'adopted',
  'gone',
]);
export type OrphanStatus = z.infer<typeof OrphanStatus>;

/** `STREAMSPACE_ORPHAN_POLICY`: what to do with an orphan once its grace period is over. */
export const OrphanPolicy = z.enum(['remove', 'leave', 'adopt']);
export type OrphanPolicy = z.infer<typeof OrphanPolicy>;

/**
 * A session an agent reports that the database does not know, or knows as stopped
 * (GET /api/v1/orphans, admins).
 */
export const OrphanSession = z.object({
  agentId: Uuid,
  agentName: z.string().nullable(),
  sessionId: Uuid,
  status: OrphanStatus,
  /** What the agent said about it. */
  observedStatus: SessionObservation.shape.status,
  /** `unknown`: no such session in the database; `stopped`: the database says it ended. */
  knownAs: z.enum(['unknown', 'stopped']),
  details: z.record(z.string(), z.string()),
  /** Why it has its status, in words an admin understands. */
  reason: z.string(),
  firstSeenAt: z.iso.datetime({ offset: true }),
  lastSeenAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type OrphanSession = z.infer<typeof OrphanSession>;
