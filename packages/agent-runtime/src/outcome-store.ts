import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { CommandOutcome } from '@streamspace/protocol';

/**
 * What the agent remembers about one command id: `started` is written BEFORE the driver
 * runs, `done` after, so a restarted agent knows it may have applied a command whose
 * outcome it lost and must not run it again.
 */
export const OutcomeRecord = z.object({
  commandId: z.string(),
  /** The command's deadline, ms since the epoch: after it the control plane never re-sends. */
  deadline: z.number(),
  state: z.enum(['started', 'done']),
  outcome: CommandOutcome.optional(),
});
export type OutcomeRecord = z.infer<typeof OutcomeRecord>;

export interface OutcomeStore {
  load(): Promise<OutcomeRecord[]>;
  append(record: OutcomeRecord): Promise<void>;
  /** Rewrite the file with only these records (drops superseded and forgotten ones). */
  rewrite(records: OutcomeRecord[]): Promise<void>;
}

/** An append-only JSON-lines file; the last line for a command id wins. */
export function createFileOutcomeStore(path: string): OutcomeStore {
  let writes: Promise<void> = Promise.resolve();
  const serial = (work: () => Promise<void>): Promise<void> => {
    writes = writes.then(work, work);
    return writes;
  };
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const records: OutcomeRecord[] = [];
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        try {
          const parsed = OutcomeRecord.safeParse(JSON.parse(line));
          // A torn last line (crash mid-write) is skipped: at worst that command is reported
          // as interrupted, never run twice, because its `started` line came first.
          if (parsed.success) records.push(parsed.data);
        } catch {
          continue;
        }
      }
      return records;
    },
    append: (record) =>
      serial(async () => {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await appendFile(path, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      }),
    rewrite: (records) =>
      serial(async () => {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        const temporary = `${path}.tmp`;
        await writeFile(temporary, records.map((r) => `${JSON.stringify(r)}\n`).join(''), {
          mode: 0o600,
        });
        await rename(temporary, path);
      }),
  };
}

/** Keeps nothing: outcomes live only as long as the process. */
export const memoryOutcomeStore: OutcomeStore = {
  load: async () => [],
  append: async () => {},
  rewrite: async () => {},
};
