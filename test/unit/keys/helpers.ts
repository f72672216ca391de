import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

export function p256(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

const rsaCache = new Map<number, KeyObject>();
/** RSA generation is slow; one key per size per test file is enough. */
export function rsa(bits = 2048): KeyObject {
  let key = rsaCache.get(bits);
  if (!key) {
    key = generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
    rsaCache.set(bits, key);
  }
  return key;
}

/** A fresh temp directory per call, removed after the test. */
export function useTempDirs(): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-keys-'));
    dirs.push(dir);
    return dir;
  };
}

export function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}
