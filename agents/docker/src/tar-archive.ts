const BLOCK = 512;
/** The image's session user (deploy/images/README.md: uid/gid 1000). */
export const SESSION_UID = 1000;

export interface TarEntry {
  /** Relative path; directories end with '/'. At most 100 bytes (no ustar prefix split). */
  path: string;
  mode: number;
  /** File content; absent for a directory. */
  content?: Buffer;
  uid?: number;
  gid?: number;
}

/**
 * A POSIX.1-1988 ustar archive, enough for Docker's archive endpoint (PUT
 * /containers/{id}/archive keeps the headers' owner and mode when extracting).
 */
export function tarArchive(entries: TarEntry[], mtimeSeconds: number): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content ?? Buffer.alloc(0);
    parts.push(header(entry, content.length, Math.floor(mtimeSeconds)));
    if (content.length > 0) {
      parts.push(content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK));
    }
  }
  // End of archive: two zero blocks.
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** The content of the first regular file in a tar archive (what GET …/archive returns). */
export function firstFileOf(archive: Buffer): Buffer | undefined {
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const block = archive.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) return undefined;
    const size = parseInt(block.toString('ascii', 124, 136).replace(/\0.*$/, '').trim(), 8) || 0;
    const type = block.toString('ascii', 156, 157);
    if (type === '0' || type === '\0') {
      return archive.subarray(offset + BLOCK, offset + BLOCK + size);
    }
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return undefined;
}

function header(entry: TarEntry, size: number, mtime: number): Buffer {
  const isDirectory = entry.path.endsWith('/');
  if (Buffer.byteLength(entry.path) > 100) throw new Error(`tar path too long: ${entry.path}`);
  const block = Buffer.alloc(BLOCK);
  const octal = (value: number, width: number, offset: number) =>
    block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
  block.write(entry.path, 0, 100, 'utf8');
  octal(entry.mode, 8, 100);
  octal(entry.uid ?? SESSION_UID, 8, 108);
  octal(entry.gid ?? SESSION_UID, 8, 116);
  octal(isDirectory ? 0 : size, 12, 124);
  octal(mtime, 12, 136);
  block.write(isDirectory ? '5' : '0', 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  // The checksum is computed with its own field read as eight spaces.
  block.fill(' ', 148, 156, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}
