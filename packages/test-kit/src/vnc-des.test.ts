import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { desEcbEncrypt, vncAuthResponse, vncDesEncrypt, vncObfuscatedPassword } from './vnc-des';

describe('vnc-des', () => {
  it('computes single DES (FIPS 46 worked example) through OpenSSL 3DES-EDE', () => {
    const key = Buffer.from('133457799bbcdff1', 'hex');
    const out = desEcbEncrypt(key, Buffer.from('0123456789abcdef', 'hex'));
    assert.equal(out.toString('hex'), '85e813540f0ab405');
  });

  it('obfuscates passwords exactly as TigerVNC vncpasswd -f does', () => {
    for (const password of ['secret12', 'abc123', 'longer-than-eight']) {
      const expected = execFileSync('vncpasswd', ['-f'], { input: `${password}\n` });
      assert.equal(vncObfuscatedPassword(password).toString('hex'), expected.toString('hex'));
    }
  });

  it('answers a challenge with the mirrored-key DES of both blocks', () => {
    const challenge = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const response = vncAuthResponse('pass', challenge);
    assert.equal(response.length, 16);
    const key = Buffer.from('pass\0\0\0\0', 'latin1');
    assert.deepEqual(response, vncDesEncrypt(key, challenge));
    assert.notDeepEqual(response, desEcbEncrypt(key, challenge), 'key bits must be mirrored');
    assert.deepEqual(
      vncAuthResponse('password-long', challenge),
      vncAuthResponse('password', challenge),
    );
  });
});
