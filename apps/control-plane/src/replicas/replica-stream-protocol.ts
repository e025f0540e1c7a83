import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { Uuid } from '@streamspace/protocol';

/*
 * The replica-to-replica stream route (docs/architecture.md, "Several replicas"). A replica
 * whose viewer's agent link is held by another replica opens one WebSocket per viewer to the
 * owner's REPLICA_STREAM_PATH:
 *
 *   GET /internal/v1/replica-streams?agentId=…&sessionId=…&port=…
 *   Authorization: Bearer <STREAMSPACE_REPLICA_SECRET>
 *   X-StreamSpace-Replica-Id: <the caller's replica id>        (for the owner's logs)
 *   X-StreamSpace-Replica-Target: <the owner's replica id>     (refused if it is not the owner)
 *
 * The owner opens a stream on its local agent link and answers with one text message
 * ReplicaStreamOpened; after it, binary messages carry raw RFB bytes both ways. Flow control
 * is TCP's: each side pauses reading its socket while the other end's stream has no room, so
 * nothing is buffered without bound. The owner ends the route with a WebSocket close whose
 * code and reason are what the viewer should be told (close-codes.ts). Ids only in the URL;
 * the secret only in a header, and never logged.
 */

export const REPLICA_STREAM_PATH = '/internal/v1/replica-streams';
export const REPLICA_ID_HEADER = 'x-streamspace-replica-id';
export const REPLICA_TARGET_HEADER = 'x-streamspace-replica-target';

/** The route's query string, validated by the owner. */
export const ReplicaStreamQuery = z.object({
  agentId: Uuid,
  sessionId: Uuid,
  port: z.coerce.number().int().min(1).max(65_535),
});
export type ReplicaStreamQuery = z.infer<typeof ReplicaStreamQuery>;

/** The owner's only text message: the stream is open on the agent; bytes may flow. */
export const ReplicaStreamOpened = z.object({ type: z.literal('opened') });
export type ReplicaStreamOpened = z.infer<typeof ReplicaStreamOpened>;

/** Largest routed message, in bytes: stream DATA chunks and viewer messages are far smaller. */
export const MAX_REPLICA_STREAM_MESSAGE_BYTES = 4 * 1024 * 1024;

export function isReplicaStreamPath(url: string | undefined): boolean {
  return url !== undefined && url.split('?')[0] === REPLICA_STREAM_PATH;
}

export function replicaStreamUrl(ownerUrl: string, query: ReplicaStreamQuery): string {
  const params = new URLSearchParams({
    agentId: query.agentId,
    sessionId: query.sessionId,
    port: String(query.port),
  });
  return `${ownerUrl.replace(/^http/, 'ws')}${REPLICA_STREAM_PATH}?${params.toString()}`;
}

/**
 * Whether an `Authorization: Bearer …` header carries the replica secret. Compared as
 * SHA-256 digests in constant time, so neither the content nor the length leaks by timing.
 */
export function replicaSecretMatches(authorization: string | undefined, secret: string): boolean {
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  if (match?.[1] === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]), digest(secret));
}
