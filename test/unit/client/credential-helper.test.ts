/**
 * The credential-helper protocol as docker-credential-helpers defines it, run in-process against a
 * throwaway config directory. Cases that need a broker or a registry are in test/e2e/client-*.test.ts.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCredentialHelper, NOT_FOUND } from '../../../src/client/credential-helper.js';
import { LoginStore, type Login } from '../../../src/client/logins.js';
import { loginsFile, type Env } from '../../../src/client/paths.js';
import { freePort } from '../../helpers/ports.js';

let dir: string;
let env: Env;
let closed: number;
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'portcullis-helper-'));
  env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') };
  // Nothing listens here: a test that reaches the network fails loudly.
  closed = await freePort();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const login = (overrides: Partial<Login> = {}): Login => ({
  broker: 'https://broker.example',
  service: 'svc',
  tokenEndpoint: `http://127.0.0.1:${closed}/token`,
  revocationEndpoint: `http://127.0.0.1:${closed}/login/revoke`,
  refreshToken: 'pcr_secret',
  expiresAt: new Date(Date.now() + 3600_000).toISOString(),
  registries: ['registry.example:5000'],
  ...overrides,
});

describe('docker-credential-portcullis protocol', () => {
  it('version, usage and unknown actions', async () => {
    expect(await runCredentialHelper(['version'], '', env)).toEqual({ stdout: 'docker-credential-portcullis (portcullis) 0.1.0\n', code: 0 });
    expect(await runCredentialHelper([], '', env)).toMatchObject({ code: 1, stdout: expect.stringMatching(/^Usage: docker-credential-portcullis <store\|get\|erase\|list\|version>\n$/) });
    expect(await runCredentialHelper(['fetch'], '', env)).toEqual({ stdout: 'Unknown credential action `fetch`\n', code: 1 });
  });

  it('get for a registry no login ever named: the standard not-found message, so clients go on anonymously', async () => {
    expect(await runCredentialHelper(['get'], 'docker.io\n', env)).toEqual({ stdout: `${NOT_FOUND}\n`, code: 1 });
    expect(await runCredentialHelper(['get'], '  \n', env)).toEqual({ stdout: 'no credentials server URL\n', code: 1 });
  });

  it('store checks its input like docker-credential-helpers and keeps nothing', async () => {
    expect(await runCredentialHelper(['store'], JSON.stringify({ ServerURL: 'r.example', Username: 'u', Secret: 's' }), env)).toEqual({ stdout: '', code: 0 });
    expect(await runCredentialHelper(['store'], JSON.stringify({ Username: 'u' }), env)).toEqual({ stdout: 'no credentials server URL\n', code: 1 });
    expect(await runCredentialHelper(['store'], JSON.stringify({ ServerURL: 'r.example' }), env)).toEqual({ stdout: 'no credentials username\n', code: 1 });
    expect(await runCredentialHelper(['store'], 'not json', env)).toMatchObject({ code: 1 });
    expect(await runCredentialHelper(['get'], 'r.example', env)).toEqual({ stdout: `${NOT_FOUND}\n`, code: 1 });
  });

  it('list names the registries with a stored session, as <token> users', async () => {
    await new LoginStore(loginsFile(env)).save(login());
    expect(await runCredentialHelper(['list'], '', env)).toEqual({ stdout: '{"registry.example:5000":"<token>"}\n', code: 0 });
  });

  it('an expired session: one line naming the command that fixes it, exit 1, no network', async () => {
    await new LoginStore(loginsFile(env)).save(login({ expiresAt: new Date(Date.now() - 1000).toISOString() }));
    const result = await runCredentialHelper(['get'], 'https://registry.example:5000', env);
    expect(result).toEqual({
      stdout: 'portcullis: your session at https://broker.example has expired; run `portcullis login https://broker.example`\n',
      code: 1,
    });
  });

  it('after logout the registry is still known: one line telling to log in, not anonymous access', async () => {
    const store = new LoginStore(loginsFile(env));
    await store.save(login());
    await store.remove('https://broker.example');
    expect(await runCredentialHelper(['get'], 'registry.example:5000', env)).toEqual({
      stdout: 'portcullis: not signed in to https://broker.example; run `portcullis login https://broker.example`\n',
      code: 1,
    });
    expect(await runCredentialHelper(['list'], '', env)).toEqual({ stdout: '{}\n', code: 0 });
  });

  it('a broker that cannot be reached is one line too', async () => {
    await new LoginStore(loginsFile(env)).save(login());
    const result = await runCredentialHelper(['get'], 'registry.example:5000', env);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^portcullis: cannot check your session at https:\/\/broker\.example: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\n$/);
  });
});

describe('CI mode', () => {
  it('a GitLab id_tokens variable named in the config: Username oidc, the token as Secret', async () => {
    const result = await runCredentialHelper(['get'], 'registry.example:5000', { ...env, PORTCULLIS_ID_TOKEN_VARIABLE: 'REGISTRY_ID_TOKEN', REGISTRY_ID_TOKEN: JWT });
    expect(result).toEqual({ stdout: `${JSON.stringify({ ServerURL: 'registry.example:5000', Username: 'oidc', Secret: JWT })}\n`, code: 0 });
  });

  it('a token file from helper.yaml is re-read on every call (kubelet rotates it)', async () => {
    const tokenFile = path.join(dir, 'token');
    await mkdir(path.join(dir, 'config', 'portcullis'), { recursive: true });
    await writeFile(path.join(dir, 'config', 'portcullis', 'helper.yaml'), `ci:\n  idTokenFile: ${tokenFile}\n  registries: [registry.example:5000]\n`);
    await writeFile(tokenFile, `${JWT}\n`);
    const first = await runCredentialHelper(['get'], 'registry.example:5000', env);
    expect(JSON.parse(first.stdout)).toMatchObject({ Username: 'oidc', Secret: JWT });
    await writeFile(tokenFile, `${JWT}x`);
    const second = await runCredentialHelper(['get'], 'registry.example:5000', env);
    expect(JSON.parse(second.stdout)).toMatchObject({ Secret: `${JWT}x` });
    // Registries not listed are not answered from the token file.
    expect(await runCredentialHelper(['get'], 'elsewhere.example', env)).toEqual({ stdout: `${NOT_FOUND}\n`, code: 1 });
  });

  it('a token file that does not hold a JWT, or cannot be read, is one clear line', async () => {
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, 'not a token');
    expect(await runCredentialHelper(['get'], 'r.example', { ...env, PORTCULLIS_ID_TOKEN_FILE: tokenFile })).toEqual({
      stdout: `portcullis: the ID-token file ${tokenFile} does not hold a JWT\n`,
      code: 1,
    });
    expect(await runCredentialHelper(['get'], 'r.example', { ...env, PORTCULLIS_ID_TOKEN_FILE: path.join(dir, 'nope') })).toEqual({
      stdout: `portcullis: cannot read the ID-token file ${path.join(dir, 'nope')}: ENOENT\n`,
      code: 1,
    });
  });

  it('GitHub Actions without an audience is refused: the default audience is shared by every service', async () => {
    const result = await runCredentialHelper(['get'], 'r.example', { ...env, ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${closed}/x?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^portcullis: GitHub Actions ID tokens need an audience: set PORTCULLIS_AUDIENCE/);
  });

  it('a helper.yaml with an unknown key names it', async () => {
    await mkdir(path.join(dir, 'config', 'portcullis'), { recursive: true });
    await writeFile(path.join(dir, 'config', 'portcullis', 'helper.yaml'), 'ci:\n  audiance: x\n');
    const result = await runCredentialHelper(['get'], 'r.example', env);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/helper\.yaml: ci: Unrecognized key: "audiance"/);
  });
});
