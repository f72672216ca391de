import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';
import { runProcess } from '../../helpers/processes.js';
import { basic, decodeJwt } from '../../helpers/broker.js';
import { cliArgs } from '../../helpers/cli.js';


let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'portcullis-cli-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => {
  const e = { ...process.env };
  delete e.PORTCULLIS_CONFIG;
  delete e.PORTCULLIS_DATA_DIR;
  return e;
};

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return runProcess(process.execPath, [...cliArgs(), ...args], { cwd, env: { ...env(), ...extraEnv }, timeoutMs: 60_000 });
}

/** Starts `portcullis serve` and resolves with the stderr summary once it listens. */
async function serve(args: string[]): Promise<{ child: ChildProcess; summary: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...cliArgs(), 'serve', ...args], { cwd, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const summary = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stdout.includes('"msg":"ready"') || /mint a token with/.test(stderr)) {
        clearTimeout(timer);
        resolve(stderr);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
  return {
    child,
    summary,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

describe('portcullis serve on embedded defaults', () => {
  it('generates a key once into .portcullis, prints a summary, issues tokens for `dev token`, and reuses the key after a restart', async () => {
    const port = await freePort();
    const first = await serve(['--port', String(port)]);
    try {
      expect(first.summary).toContain('no configuration file, running on embedded defaults');
      expect(first.summary).toContain('DEVELOPMENT ISSUER ON');
      expect(first.summary).toMatch(/generated signing key .*\.portcullis\/signing-key\.pem/);
      const keyStat = await stat(path.join(cwd, '.portcullis', 'signing-key.pem'));
      expect(keyStat.mode & 0o077).toBe(0);

      const minted = await cli(['dev', 'token', '--port', String(port), '--sub', 'alice']);
      expect(minted.code, minted.stderr).toBe(0);
      const idToken = minted.stdout.trim();
      const res = await fetch(`http://127.0.0.1:${port}/token?service=dev-registry&scope=repository:dev/app:push,pull&scope=repository:prod/app:pull`, {
        headers: { authorization: basic('oidc', idToken) },
      });
      expect(res.status).toBe(200);
      const { payload } = decodeJwt(((await res.json()) as { token: string }).token);
      expect(payload.sub).toBe('alice');
      expect(payload.access).toEqual([
        { type: 'repository', name: 'dev/app', actions: ['push', 'pull'] },
        { type: 'repository', name: 'prod/app', actions: [] },
      ]);
    } finally {
      await first.stop();
    }
    const kid = /kid ([A-Z2-7:]{59})/.exec(first.summary)?.[1];
    expect(kid).toBeDefined();
    const second = await serve(['--port', String(port)]);
    try {
      expect(second.summary).toMatch(/reusing signing key/);
      expect(second.summary).toContain(`kid ${kid}`);
    } finally {
      await second.stop();
    }
  });

  it('keys export prints the bundle and a JWKS whose kid the tokens carry', async () => {
    const cert = await cli(['keys', 'export', '--format', 'cert']);
    expect(cert.code, cert.stderr).toBe(0);
    expect(cert.stdout).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const jwks = await cli(['keys', 'export', '--format', 'jwks']);
    const parsed = JSON.parse(jwks.stdout) as { keys: { kid: string; d?: string }[] };
    expect(parsed.keys[0]?.kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect(parsed.keys[0]?.d).toBeUndefined();
  });
});

describe('configuration errors', () => {
  it('serve exits non-zero naming the key path, with no stack trace', async () => {
    const file = path.join(cwd, 'bad.yaml');
    await writeFile(file, 'server:\n  port: seventy\nissuers:\n  - id: gh\n    issuer: https://token.actions.githubusercontent.com\n');
    const result = await cli(['serve', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('server.port');
    expect(result.stderr).toContain('issuers[0].audiences');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('serve --workers 2 with the memory store is refused with a message that says why', async () => {
    // Embedded defaults use the memory store too.
    for (const args of [['serve', '--workers', '2'], ['serve', '--workers', '3', '--port', '1']]) {
      const result = await cli(args, { PORTCULLIS_DATA_DIR: path.join(cwd, 'workers-data') });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/--workers \d needs store\.type: redis/);
      expect(result.stderr).toContain('single-use ledger');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('config check accepts a valid file and prints what the server would do', async () => {
    const policy = path.join(cwd, 'policy.yaml');
    await writeFile(policy, 'version: 1\nrules: []\n');
    const file = path.join(cwd, 'good.yaml');
    await writeFile(file, `token:\n  services: [reg]\npolicy:\n  file: ${policy}\n`);
    const result = await cli(['config', 'check', '--config', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('configuration OK');
    expect(result.stdout).toContain('service=reg');
    expect(result.stdout).not.toContain('DEVELOPMENT ISSUER');
  });

  it('a configuration file without a policy is refused (the example policy is for development only)', async () => {
    const file = path.join(cwd, 'nopolicy.yaml');
    await writeFile(file, 'token:\n  services: [reg]\n');
    const result = await cli(['config', 'check', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('policy.file');
  });

  it('dev token refuses when the configuration turns the development issuer off', async () => {
    const file = path.join(cwd, 'good.yaml');
    const result = await cli(['dev', 'token', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('devIssuer.enabled');
    expect(await readFile(file, 'utf8')).toContain('services');
  });
});
