import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';

/** What an enrolled agent keeps on disk: its identity and secret (0600, never logged). */
export const AgentCredentials = z.object({
  controlPlaneUrl: z.string().url(),
  agentId: z.uuid(),
  agentSecret: z.string().min(1),
});
export type AgentCredentials = z.infer<typeof AgentCredentials>;

/** The credentials in `path`, or null when the file does not exist. */
export async function readCredentialsFile(path: string): Promise<AgentCredentials | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const parsed = AgentCredentials.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`credentials file ${path} is not valid`);
  return parsed.data;
}

/** Write atomically (temporary file + rename) with mode 0600. */
export async function writeCredentialsFile(
  path: string,
  credentials: AgentCredentials,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}
