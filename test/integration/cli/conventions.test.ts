/**
 * CLI conventions: --json on every command that prints state, exit status 2 for
 * usage errors, `config check` writes nothing, `-c` wherever a configuration is read.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runProcess } from '../../helpers/processes.js';
import { cliArgs } from '../../helpers/cli.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { configCommand } from '../../../src/cli/config.js';
import { devCommand } from '../../../src/cli/dev.js';
import { keysCommand } from '../../../src/cli/keys.js';
import { policyCommand } from '../../../src/cli/policy.js';
import { serveCommand } from '../../../src/cli/serve.js';
import { sessionsCommand } from '../../../src/cli/sessions.js';
import { healthCommand } from '../../../src/cli/health.js';

let cwd: string;
let redis: RedisServer;
beforeAll(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'portcullis-cli-conv-'));
  await writeFile(path.join(cwd, 'policy.yaml'), 'version: 1\nrules: []\n');
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  await rm(cwd, { recursive: true, force: true });
});

function cli(args: string[]) {
  const env = { ...process.env };
  delete env.PORTCULLIS_CONFIG;
  delete env.PORTCULLIS_DATA_DIR;
  return runProcess(process.execPath, [...cliArgs(), ...args], { cwd, env, timeoutMs: 60_000 });
}

async function configFile(name: string, extra: Record<string, unknown> = {}): Promise<{ file: string; dataDir: string }> {
  const dataDir = path.join(cwd, `${name}-data`);
  const file = path.join(cwd, `${name}.yaml`);
  await writeFile(file, stringify({ token: { services: ['reg'] }, dataDir, policy: { file: path.join(cwd, 'policy.yaml') }, ...extra }));
  return { file, dataDir };
}

describe('config check', () => {
  it('writes nothing: no generated signing key, no development issuer key', async () => {
    const { file, dataDir } = await configFile('dry', { devIssuer: { enabled: true } });
    const result = await cli(['config', 'check', '-c', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`no signing key yet: serve generates one at ${path.join(dataDir, 'signing-key.pem')}`);
    await expect(readdir(dataDir)).rejects.toThrow(/ENOENT/);
    // Embedded defaults (no file) would put both keys in ./.portcullis: still nothing written.
    const defaults = await cli(['config', 'check']);
    expect(defaults.code, defaults.stderr).toBe(0);
    expect(await readdir(cwd)).not.toContain('.portcullis');
  });

  it('--json prints one object with what the registry and CI need, and {"ok": false} on failure', async () => {
    const { file } = await configFile('json', { keys: { kidMode: 'x5c' } });
    const ok = await cli(['config', 'check', '-c', file, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      ok: true,
      source: file,
      publicUrl: 'http://127.0.0.1:5001',
      registry: { realm: 'http://127.0.0.1:5001/token', issuer: 'portcullis', services: ['reg'] },
      store: 'memory',
      devIssuer: false,
    });
    expect((report.signingKeys as { kidMode: string; active: boolean }[])[0]).toMatchObject({ kidMode: 'x5c', active: true });

    const bad = path.join(cwd, 'bad.yaml');
    await writeFile(bad, 'token:\n  lifetime: 5\n');
    const failed = await cli(['config', 'check', '-c', bad, '--json']);
    expect(failed.code).toBe(1);
    const error = JSON.parse(failed.stdout) as { ok: boolean; error: string };
    expect(error.ok).toBe(false);
    expect(error.error).toContain('token.lifetime');
  });
});

describe('--json on keys show and sessions revoke', () => {
  it('keys show --json lists each key with its kids', async () => {
    const { file } = await configFile('keys');
    const result = await cli(['keys', 'show', '-c', file, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const keys = JSON.parse(result.stdout) as { id: string; alg: string; active: boolean; kid: string; kids: Record<string, string> }[];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ id: 'generated', alg: 'ES256', active: true });
    expect(keys[0]?.kids.libtrust).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect(keys[0]?.kid).toBe(keys[0]?.kids.libtrust);
  });

  it('sessions revoke --json prints the count', async () => {
    const { file } = await configFile('sessions', { store: { type: 'redis', url: redis.url } });
    const result = await cli(['sessions', 'revoke', '-c', file, '--all', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ revoked: 0 });
  });
});

describe('exit status', () => {
  it('is 2 for usage errors, 0 for --help and --version, 1 for a configuration the command cannot use', async () => {
    const { file } = await configFile('usage', { store: { type: 'redis', url: redis.url } });
    const cases = [
      [],
      ['no-such-command'],
      ['config', 'check', '--no-such-flag'],
      ['keys', 'export', '-c', file],
      ['keys', 'export', '--format', 'pem'],
      ['keys', 'show', '-c', file, '--key', 'k.pem'],
      ['serve', '--port', 'seventy'],
      ['sessions', 'revoke', '-c', file],
    ].map((args) => ({ args, expected: 2 })).concat([
      { args: ['--help'], expected: 0 },
      { args: ['--version'], expected: 0 },
      { args: ['config', 'check', '-c', path.join(cwd, 'missing.yaml')], expected: 1 },
    ]);
    // Each run starts a Node process: run them side by side.
    const results = await Promise.all(cases.map(async (c) => ({ ...c, result: await cli(c.args) })));
    for (const { args, expected, result } of results) {
      expect(result.code, `portcullis ${args.join(' ')}: ${result.stderr}`).toBe(expected);
    }
  }, 120_000);
});

describe('-c', () => {
  /** Every command in the tree, with its full name. */
  function walk(command: Command, prefix: string[] = []): { name: string; command: Command }[] {
    const name = [...prefix, command.name()];
    return [{ name: name.join(' '), command }, ...command.commands.flatMap((c) => walk(c, name))];
  }

  it('is accepted by every command that reads a configuration file', () => {
    const roots = [serveCommand(), keysCommand({ loadKeyRing: () => Promise.reject(new Error('unused')) }), configCommand(), devCommand(), policyCommand(), sessionsCommand(), healthCommand()];
    const readers = roots.flatMap((r) => walk(r)).filter(({ command }) => command.options.some((o) => o.long === '--config'));
    expect(readers.map((r) => r.name).sort()).toEqual(
      ['config check', 'dev token', 'health', 'keys export', 'keys show', 'serve', 'sessions list', 'sessions revoke'].sort(),
    );
    for (const { name, command } of readers) {
      expect(command.options.find((o) => o.long === '--config')?.short, name).toBe('-c');
    }
  });
});

describe('health', () => {
  it('probes /healthz on the configured port: 0 while the broker serves, 1 once it is gone', async () => {
    const { startBroker } = await import('../../helpers/broker.js');
    const broker = await startBroker({ policy: { version: 1, rules: [] } });
    try {
      const up = await cli(['health', '-c', broker.configPath]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toContain(`healthy: http://127.0.0.1:${broker.port}/healthz`);
    } finally {
      await broker.stop();
    }
    // stop() deleted the broker's directory: probe the same port through --port.
    const down = await cli(['health', '--port', String(broker.port)]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/unhealthy: http:\/\/127\.0\.0\.1:\d+\/healthz/);
  });
});
