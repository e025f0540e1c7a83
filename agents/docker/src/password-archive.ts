import { tarArchive } from './tar-archive';

/**
 * The image contract's password file (deploy/images/README.md) as a tar archive to extract
 * at /run of a created container before it starts: `streamspace/vncpasswd`, mode 0400,
 * owned by the session user, the plaintext password and a newline.
 */
export function passwordArchive(password: string, mtimeSeconds: number): Buffer {
  return tarArchive(
    [
      { path: 'streamspace/', mode: 0o755 },
      { path: 'streamspace/vncpasswd', mode: 0o400, content: Buffer.from(`${password}\n`) },
    ],
    mtimeSeconds,
  );
}
