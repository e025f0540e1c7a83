import { createCipheriv } from 'node:crypto';

/** RFC 6143 §7.2.2: the challenge is 16 random bytes; the key is the password's first 8. */
export const VNC_CHALLENGE_BYTES = 16;
const DES_KEY_BYTES = 8;
const DES_BLOCK_BYTES = 8;

/**
 * The fixed key VNC implementations use to obfuscate stored passwords (`vncpasswd -f` output,
 * the PasswordFile Xvnc reads). Not a secret: it is in every VNC implementation's source.
 */
const OBFUSCATION_KEY = Buffer.from([23, 82, 107, 6, 35, 78, 88, 7]);

/** Reverse the bit order of one byte (0b10000000 → 0b00000001). */
function mirrorBits(byte: number): number {
  let out = 0;
  for (let bit = 0; bit < 8; bit += 1) {
    if ((byte & (1 << bit)) !== 0) out |= 0x80 >> bit;
  }
  return out;
}

/**
 * DES-ECB with VNC's key convention. Every VNC implementation (from the original d3des.c on)
 * feeds the key bits mirrored per byte, so we mirror before handing the key to OpenSSL.
 *
 * OpenSSL 3 moved single DES (`des-ecb`) to the legacy provider, which Node does not load. 3DES
 * in EDE mode with K1 = K2 = K3 computes E(K, D(K, E(K, x))) = E(K, x), i.e. single DES, and
 * `des-ede3-ecb` is in the default provider (checked against the FIPS 46 test vector in
 * vnc-des.test.ts).
 */
export function vncDesEncrypt(key: Buffer, data: Buffer): Buffer {
  if (key.length !== DES_KEY_BYTES) throw new Error('a VNC DES key is 8 bytes');
  if (data.length % DES_BLOCK_BYTES !== 0) throw new Error('DES-ECB input is whole 8-byte blocks');
  const mirrored = Buffer.from(key.map(mirrorBits));
  return desEcbEncrypt(mirrored, data);
}

/** Plain single DES-ECB (no key mirroring), exposed for the standard test vectors. */
export function desEcbEncrypt(key: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** The password's first 8 bytes (Latin-1), zero padded: the VNC Authentication key. */
export function vncPasswordKey(password: string): Buffer {
  const key = Buffer.alloc(DES_KEY_BYTES);
  Buffer.from(password, 'latin1').copy(key, 0, 0, DES_KEY_BYTES);
  return key;
}

/** The 16-byte response to a VNC Authentication challenge (RFC 6143 §7.2.2). */
export function vncAuthResponse(password: string, challenge: Buffer): Buffer {
  if (challenge.length !== VNC_CHALLENGE_BYTES) {
    throw new Error(`a VNC challenge is ${VNC_CHALLENGE_BYTES} bytes`);
  }
  return vncDesEncrypt(vncPasswordKey(password), challenge);
}

/** What `vncpasswd -f` writes for this password: the 8-byte key encrypted with the fixed key. */
export function vncObfuscatedPassword(password: string): Buffer {
  return vncDesEncrypt(OBFUSCATION_KEY, vncPasswordKey(password));
}
