import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';

/** Run a tool with secret input on stdin (never argv, which `ps` shows to every user). */
function runWithInput(command: string, args: string[], input: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${command} exited with code ${code}: ${err.trim().slice(0, 200)}`));
    });
    child.stdin.end(input);
  });
}

/**
 * Write Xvnc's PasswordFile (mode 0600) with TigerVNC's own encoder, `vncpasswd -f`
 * (RFC 6143 §7.2.2 uses only the password's first 8 bytes).
 */
export async function writeVncPasswordFile(path: string, password: string): Promise<void> {
  const encoded = await runWithInput('vncpasswd', ['-f'], `${password}\n`);
  await writeFile(path, encoded, { mode: 0o600 });
  await chmod(path, 0o600);
}

/**
 * Write an X authority file with a fresh MIT-MAGIC-COOKIE-1 for display :N, so only
 * processes given XAUTHORITY (the session's own) can connect to the session's X display.
 */
export async function writeXAuthority(path: string, display: number): Promise<void> {
  const cookie = randomBytes(16).toString('hex');
  await runWithInput('xauth', ['-q', '-f', path, 'source', '-'], `add :${display} . ${cookie}\n`);
  await chmod(path, 0o600);
}
