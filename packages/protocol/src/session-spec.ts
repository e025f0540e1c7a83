import { z } from 'zod';
import { Uuid } from './domain';

/** The conventional RFB port of a session's VNC server (RFC 6143 §1.1 uses 5900 + display). */
export const DEFAULT_VNC_PORT = 5900;

export const Resources = z.object({
  /** CPU limit in millicores (1000 = one core). */
  cpuMillis: z.int().min(50).max(64_000),
  /** Memory limit in MiB. */
  memoryMb: z.int().min(64).max(262_144),
});
export type Resources = z.infer<typeof Resources>;

export const WindowManager = z.enum(['twm', 'openbox', 'none']);
export type WindowManager = z.infer<typeof WindowManager>;

export const Geometry = z.object({
  width: z.int().min(320).max(7680),
  height: z.int().min(200).max(4320),
});
export type Geometry = z.infer<typeof Geometry>;

/**
 * Everything a driver needs to run one session. The control plane builds it from the
 * template and the user; a driver never reads the database (BRIEF.md, "The driver boundary").
 */
export const SessionSpec = z.object({
  sessionId: Uuid,
  userId: Uuid,
  templateId: z.string().min(1).max(64),
  /** Container image for the docker and kubernetes drivers. */
  image: z.string().min(1).max(255),
  /** The app to run inside the desktop, e.g. ["xterm"]; empty for a bare desktop. */
  app: z.array(z.string().max(1024)).max(64),
  windowManager: WindowManager,
  resources: Resources,
  geometry: Geometry,
  /**
   * Identifies the persistent home: one per user, or per user and template when the
   * template asks for isolation. Safe as a Docker volume / PVC / directory name.
   */
  homeKey: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  /** RFB VNC authentication password (RFC 6143 §7.2.2 uses its first 8 bytes). */
  vncPassword: z.string().min(6).max(64),
  vncPort: z.int().min(1).max(65_535),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(4096)),
});
export type SessionSpec = z.infer<typeof SessionSpec>;

/** Where the agent reaches the session's VNC server on its private network. */
export const Endpoint = z.object({
  host: z.string().min(1).max(255),
  port: z.int().min(1).max(65_535),
});
export type Endpoint = z.infer<typeof Endpoint>;

/** What a driver reports about one session it runs (inventory, inspect, list). */
export const SessionObservation = z.object({
  sessionId: Uuid,
  /** running: serving; stopped: compute released, home kept; failed: died on its own. */
  status: z.enum(['running', 'stopped', 'failed']),
  endpoint: Endpoint.optional(),
  reason: z.string().max(1024).optional(),
  /** Driver-specific facts shown to users as platform metadata (container id, pod name, …). */
  details: z.record(z.string(), z.string().max(1024)),
});
export type SessionObservation = z.infer<typeof SessionObservation>;
