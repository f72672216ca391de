import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { base32Encode } from '../../../src/keys/encoding.js';
import { distributionThumbprint, jwkThumbprint, libtrustKeyId } from '../../../src/keys/index.js';
import { p256, rsa } from './helpers.js';

// The example key of distribution's docs/spec/auth/jwt.md (spec §5).
const SPEC_KEY = createPublicKey({
  key: { kty: 'EC', crv: 'P-256', x: 'm7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q', y: 'dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc' },
  format: 'jwk',
});

describe('base32Encode', () => {
  it('matches the RFC 4648 test vectors (without padding)', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ];
    for (const [input, expected] of cases) expect(base32Encode(Buffer.from(input))).toBe(expected);
  });
});

describe('libtrustKeyId', () => {
  it('matches the spec test vector', () => {
    expect(libtrustKeyId(SPEC_KEY)).toBe('PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6');
  });

  it('gives the same id for a private key and its public half', () => {
    const key = p256();
    expect(libtrustKeyId(key)).toBe(libtrustKeyId(createPublicKey(key)));
  });

  it('is always 12 groups of 4 base32 characters (59 chars), for EC and RSA', () => {
    for (const key of [p256(), p256(), rsa()]) {
      const id = libtrustKeyId(key);
      expect(id).toHaveLength(59);
      expect(id).toMatch(/^[A-Z2-7]{4}(?::[A-Z2-7]{4}){11}$/);
    }
  });
});

describe('thumbprints', () => {
  it('match the spec test vector', async () => {
    expect(await jwkThumbprint(SPEC_KEY)).toBe('8qjioA3ZA7ti2JIE7c-U8smBFuZolQZvhSHDPU3hhB8');
    expect(distributionThumbprint(SPEC_KEY)).toBe('8qjioA3ZA7ti2JIE7c-U8smBFuZolQZvhSHDPU3hhB8');
    expect(await calculateJwkThumbprint(SPEC_KEY.export({ format: 'jwk' }))).toBe('8qjioA3ZA7ti2JIE7c-U8smBFuZolQZvhSHDPU3hhB8');
  });

  it('agree with jose for RSA keys (RSA has no leading-zero variant)', async () => {
    const key = rsa();
    const expected = await calculateJwkThumbprint(createPublicKey(key).export({ format: 'jwk' }));
    expect(await jwkThumbprint(key)).toBe(expected);
    expect(distributionThumbprint(key)).toBe(expected);
  });

  it('differ exactly when an EC coordinate starts with a zero byte (pitfall P3)', async () => {
    let withZero: KeyObject | undefined;
    let withoutZero = 0;
    // ~1 in 128 keys qualifies; 5000 tries fail with probability ~e^-39.
    for (let i = 0; i < 5000 && !withZero; i++) {
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const jwk = createPublicKey(key).export({ format: 'jwk' });
      const x = Buffer.from(jwk.x ?? '', 'base64url');
      const y = Buffer.from(jwk.y ?? '', 'base64url');
      expect(x).toHaveLength(32);
      if (x[0] === 0 || y[0] === 0) {
        withZero = key;
      } else if (withoutZero < 20) {
        withoutZero++;
        expect(distributionThumbprint(key)).toBe(await jwkThumbprint(key));
      }
    }
    expect(withZero).toBeDefined();
    const key = withZero as KeyObject;
    const jwk = createPublicKey(key).export({ format: 'jwk' });

    // The standards-correct value is what jose computes...
    expect(await jwkThumbprint(key)).toBe(await calculateJwkThumbprint(jwk));
    // ...while distribution hashes big.Int.Bytes() of each coordinate: zero bytes stripped.
    const goBytes = (value: string): string => {
      const bytes = Buffer.from(value, 'base64url');
      let start = 0;
      while (bytes[start] === 0) start++;
      return bytes.subarray(start).toString('base64url');
    };
    const goJson = JSON.stringify({ crv: 'P-256', kty: 'EC', x: goBytes(jwk.x ?? ''), y: goBytes(jwk.y ?? '') });
    expect(distributionThumbprint(key)).toBe(createHash('sha256').update(goJson).digest('base64url'));
    expect(distributionThumbprint(key)).not.toBe(await jwkThumbprint(key));
  });
});
