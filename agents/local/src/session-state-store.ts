import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SessionSpec } from '@streamspace/protocol';
import { z } from 'zod';

/**
 * The local session's own state machine (persisted, so an agent restart knows where each
 * session was): starting → running → hibernating → hibernated → (start) …; stopping → gone;
 * failed when a process died on its own.
 */
export const LocalSessionStatus = z.enum([
  'starting',
  'running',
  'hibernating',
  'hibernated',
  'stopping',
  'failed',
]);
export type LocalSessionStatus = z.infer<typeof LocalSessionStatus>;

export const SessionProcess = z.object({
  role: z.enum(['xvnc', 'wm', 'app']),
  /** The executable's name, for reasons such as "xterm exited with code 0". */
  name: z.string(),
  pid: z.int().positive(),
  startTicks: z.string(),
});
export type SessionProcess = z.infer<typeof SessionProcess>;

/** Everything the agent keeps about a session on disk. Never the VNC password. */
export const SessionRecord = z.object({
  sessionId: z.uuid(),
  status: LocalSessionStatus,
  reason: z.string().optional(),
  /** The app exited with code 0 (the user closed it): the session ended, it did not fail. */
  endedNormally: z.boolean().optional(),
  display: z.int().optional(),
  port: z.int().optional(),
  processes: z.array(SessionProcess),
  spec: SessionSpec.omit({ vncPassword: true }),
  /** Set while stopping: delete the home once the processes are gone. */
  deleteHome: z.boolean().optional(),
  updatedAt: z.int(),
});
export type SessionRecord = z.infer<typeof SessionRecord>;

export interface StoredRecords {
  records: SessionRecord[];
  /** Files that could not be read as a record (kept on disk for a human to look at). */
  unreadable: string[];
}

/** One JSON file per session under `<dataDir>/sessions`, written atomically (tmp + rename). */
export class SessionStateStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  file(sessionId: string, suffix: string): string {
    return join(this.dir, `${sessionId}${suffix}`);
  }

  async save(record: SessionRecord): Promise<void> {
    const target = this.file(record.sessionId, '.json');
    const temporary = `${target}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, target);
  }

  /** Forget a session: its record, password, X authority and log. */
  async remove(sessionId: string): Promise<void> {
    for (const suffix of ['.json', '.passwd', '.xauth', '.log']) {
      await rm(this.file(sessionId, suffix), { force: true });
    }
  }

  async loadAll(): Promise<StoredRecords> {
    const records: SessionRecord[] = [];
    const unreadable: string[] = [];
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const parsed = SessionRecord.parse(
          JSON.parse(await readFile(join(this.dir, name), 'utf8')),
        );
        if (`${parsed.sessionId}.json` !== name) throw new Error('file name does not match');
        records.push(parsed);
      } catch {
        unreadable.push(name);
      }
    }
    return { records, unreadable };
  }
}
