import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, readSecret } from '../../../src/config/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'portcullis-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('fills secure defaults: loopback, memory store, dev issuer off', () => {
    const c = parseConfig({});
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.store.type).toBe('memory');
    expect(c.devIssuer.enabled).toBe(false);
    expect(c.keys.kidMode).toBe('libtrust');
    expect(c.token.lifetime).toBe(300);
  });

  it('names the key path of every problem', () => {
    const problems = problemsOf(() =>
      parseConfig({ server: { port: 'x' }, issuers: [{ id: 'gh', issuer: 'https://x', audiences: [] }], token: { lifetime: 5 } }),
    );
    expect(problems.some((p) => p.startsWith('server.port:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('issuers[0].audiences:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('token.lifetime:'))).toBe(true);
  });

  it('server.shutdown: 2 s drain and a 10 s bound by default; the drain must fit in the bound', () => {
    expect(parseConfig({}).server.shutdown).toEqual({ drainDelay: 2, timeout: 10 });
    expect(problemsOf(() => parseConfig({ server: { shutdown: { drainDelay: 10, timeout: 5 } } })).join()).toMatch(/server\.shutdown\.drainDelay/);
    expect(problemsOf(() => parseConfig({ server: { shutdown: { timeout: 0 } } })).join()).toMatch(/server\.shutdown\.timeout/);
  });

  it('rejects unknown keys (typos must not be silently ignored)', () => {
    expect(problemsOf(() => parseConfig({ tokn: {} })).join()).toMatch(/tokn/);
  });

  it('refuses an issuer without audiences and algorithms outside the allowlist', () => {
    expect(problemsOf(() => parseConfig({ issuers: [{ id: 'a', issuer: 'https://a', audiences: ['x'], algorithms: ['HS256'] }] })).join()).toMatch(
      /issuers\[0\]\.algorithms\[0\]/,
    );
    expect(problemsOf(() => parseConfig({ issuers: [{ id: 'a', issuer: 'https://a' }] })).join()).toMatch(/issuers\[0\]\.audiences/);
  });

  it('does not accept a private key written inline in the file', () => {
    expect(problemsOf(() => parseConfig({ keys: { signing: [{ id: 'k', privateKey: '-----BEGIN PRIVATE KEY-----' }] } })).join()).toMatch(
      /keys\.signing\[0\]\.privateKey/,
    );
  });

  it('resolves relative paths against the configuration file’s folder', () => {
    const c = parseConfig({ dataDir: 'data', policy: { file: 'p.yaml' }, keys: { signing: [{ id: 'k', privateKey: { file: 'k.pem' } }] } }, '/etc/pc');
    expect(c.dataDir).toBe('/etc/pc/data');
    expect(c.policy.file).toBe('/etc/pc/p.yaml');
    expect(c.keys.signing?.[0]?.privateKey).toEqual({ file: '/etc/pc/k.pem' });
  });
});

describe('loadConfig', () => {
  it('runs on embedded defaults with the development issuer when no file is given', async () => {
    const { config, source } = await loadConfig(undefined, {});
    expect(source).toBeNull();
    expect(config.devIssuer.enabled).toBe(true);
  });

  it('reads the file named by PORTCULLIS_CONFIG and keeps the dev issuer off', async () => {
    const file = path.join(dir, 'a.yaml');
    await writeFile(file, 'token:\n  services: [reg]\n');
    const { config, source } = await loadConfig(undefined, { PORTCULLIS_CONFIG: file });
    expect(source).toBe(file);
    expect(config.token.services).toEqual(['reg']);
    expect(config.devIssuer.enabled).toBe(false);
  });

  it('reports invalid YAML and duplicate keys with the file name', async () => {
    const file = path.join(dir, 'dup.yaml');
    await writeFile(file, 'token:\n  issuer: a\n  issuer: b\n');
    await expect(loadConfig(file, {})).rejects.toThrow(/dup\.yaml is not valid YAML/);
  });

  it('reports a missing file clearly', async () => {
    await expect(loadConfig(path.join(dir, 'missing.yaml'), {})).rejects.toThrow(/cannot read configuration file .*ENOENT/);
  });
});

describe('readSecret', () => {
  it('reads from an environment variable or a file, and names the source (never the value) on error', async () => {
    const file = path.join(dir, 'secret');
    await writeFile(file, 'from-file');
    expect(readSecret({ env: 'S' }, 'store.password', { S: 'from-env' })).toBe('from-env');
    expect(readSecret({ file }, 'store.password')).toBe('from-file');
    expect(() => readSecret({ env: 'NOPE' }, 'store.password', {})).toThrow(/store\.password: environment variable NOPE is not set/);
    expect(() => readSecret({ file: path.join(dir, 'none') }, 'x')).toThrow(/cannot read .*ENOENT/);
  });
});
