import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { createTar, type TarFile } from './tar-archive';

/** A tiny image (Debian's static busybox, ~2 MB) for pods that only need a shell and nc. */
export const BUSYBOX_TEST_IMAGE = 'streamspace/test-busybox:1';

const APPLETS = [
  'sh',
  'nc',
  'cat',
  'echo',
  'sleep',
  'head',
  'tail',
  'ls',
  'id',
  'mkdir',
  'touch',
  'printf',
  'true',
  'false',
  'env',
];

/**
 * Imports BUSYBOX_TEST_IMAGE from /bin/busybox (Debian package busybox-static) unless the
 * engine already has it. No registry involved: `docker import` of a three-directory tarball.
 */
export async function ensureBusyboxImage(docker: Docker = new Docker()): Promise<string> {
  try {
    await docker.getImage(BUSYBOX_TEST_IMAGE).inspect();
    return BUSYBOX_TEST_IMAGE;
  } catch {
    // Not there yet: build it.
  }
  const busybox = await readFile('/bin/busybox').catch(() => {
    throw new Error('/bin/busybox is missing: install the Debian package busybox-static');
  });
  const files: TarFile[] = [
    { path: 'bin/busybox', data: busybox, mode: 0o755 },
    ...APPLETS.map((applet) => ({
      path: `bin/${applet}`,
      data: Buffer.alloc(0),
      linkTarget: 'busybox',
    })),
    { path: 'tmp', data: Buffer.alloc(0), directory: true, mode: 0o1777 },
    {
      path: 'home/user',
      data: Buffer.alloc(0),
      directory: true,
      mode: 0o755,
      uid: 1000,
      gid: 1000,
    },
  ];
  const [repo, tag] = BUSYBOX_TEST_IMAGE.split(':') as [string, string];
  const stream = await docker.importImage(
    Readable.from([createTar(files)]) as never,
    {
      repo,
      tag,
      changes: ['ENV PATH=/bin', 'CMD ["/bin/sh"]'],
    } as never,
  );
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream as unknown as NodeJS.ReadableStream, (error) =>
      error ? reject(error) : resolve(),
    );
  });
  return BUSYBOX_TEST_IMAGE;
}
