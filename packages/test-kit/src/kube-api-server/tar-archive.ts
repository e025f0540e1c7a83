/** One regular file for a ustar archive (what Docker's archive API takes and gives). */
export interface TarFile {
  path: string;
  data: Buffer;
  /** Makes the entry a symbolic link to this target (data is ignored). */
  linkTarget?: string;
  /** Makes the entry a directory (data is ignored); `.` is the extraction root itself. */
  directory?: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(
  name: string,
  size: number,
  mode: number,
  uid: number,
  gid: number,
  type: '0' | '2' | '5',
  linkTarget = '',
): Buffer {
  const block = Buffer.alloc(512, 0);
  block.write(name.slice(0, 100), 0, 'utf8');
  block.write(octal(mode, 8), 100, 'ascii');
  block.write(octal(uid, 8), 108, 'ascii');
  block.write(octal(gid, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(Math.floor(Date.now() / 1000), 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(type, 156, 'ascii');
  block.write(linkTarget.slice(0, 100), 157, 'utf8');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** A ustar archive of the files, with their parent directories (POSIX.1-1988 layout). */
export function createTar(
  files: TarFile[],
  dirOwner: { uid: number; gid: number } = { uid: 0, gid: 0 },
): Buffer {
  const blocks: Buffer[] = [];
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.path.split('/').filter((part) => part !== '');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      blocks.push(header(dir, 0, 0o755, dirOwner.uid, dirOwner.gid, '5'));
    }
    if (file.directory === true || file.linkTarget !== undefined) {
      const name = file.directory === true ? `${parts.join('/') || '.'}/` : parts.join('/');
      const type = file.directory === true ? '5' : '2';
      blocks.push(
        header(name, 0, file.mode ?? 0o755, file.uid ?? 0, file.gid ?? 0, type, file.linkTarget),
      );
      continue;
    }
    blocks.push(
      header(
        parts.join('/'),
        file.data.length,
        file.mode ?? 0o644,
        file.uid ?? 0,
        file.gid ?? 0,
        '0',
      ),
    );
    blocks.push(file.data);
    const padding = (512 - (file.data.length % 512)) % 512;
    if (padding > 0) blocks.push(Buffer.alloc(padding, 0));
  }
  blocks.push(Buffer.alloc(1024, 0));
  return Buffer.concat(blocks);
}

/** The regular files of a ustar archive, by path. */
export function readTar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const block = archive.subarray(offset, offset + 512);
    if (block.every((byte) => byte === 0)) break;
    const name = block.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const prefix = block.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(
      block.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0',
      8,
    );
    const type = String.fromCharCode(block[156] ?? 0);
    offset += 512;
    if (type === '0' || type === '\0')
      files.set(
        prefix === '' ? name : `${prefix}/${name}`,
        archive.subarray(offset, offset + size),
      );
    offset += Math.ceil(size / 512) * 512;
  }
  return files;
}
