import { chmod, mkdtemp, readFile, rm, stat, writeFile, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configureCredHelpers, parseTools } from '../../../src/client/configure.js';
import { containersAuthFile, dockerConfigFile, loginsFile } from '../../../src/client/paths.js';
import { LoginStore, type Login } from '../../../src/client/logins.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'portcullis-configure-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('where the files are', () => {
  it('docker: $DOCKER_CONFIG, else ~/.docker', () => {
    expect(dockerConfigFile({ HOME: '/h' })).toBe('/h/.docker/config.json');
    expect(dockerConfigFile({ HOME: '/h', DOCKER_CONFIG: '/d' })).toBe('/d/config.json');
  });
  it('containers: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers, else ~/.config/containers', () => {
    expect(containersAuthFile({ HOME: '/h', REGISTRY_AUTH_FILE: '/a.json', XDG_RUNTIME_DIR: '/run/user/1' })).toBe('/a.json');
    expect(containersAuthFile({ HOME: '/h', XDG_RUNTIME_DIR: '/run/user/1' })).toBe('/run/user/1/containers/auth.json');
    expect(containersAuthFile({ HOME: '/h', XDG_CONFIG_HOME: '/x' })).toBe('/h/.config/containers/auth.json');
  });
  it('logins: $XDG_CONFIG_HOME/portcullis, else ~/.config/portcullis', () => {
    expect(loginsFile({ HOME: '/h' })).toBe('/h/.config/portcullis/logins.json');
    expect(loginsFile({ HOME: '/h', XDG_CONFIG_HOME: '/x' })).toBe('/x/portcullis/logins.json');
  });
});

describe('--configure', () => {
  it('parses client names; buildah and skopeo mean the containers file', () => {
    expect(parseTools('docker,podman')).toEqual(['docker', 'podman']);
    expect(parseTools('skopeo, buildah')).toEqual(['podman']);
    expect(() => parseTools('docker,rkt')).toThrow(/unknown client "rkt"/);
  });

  it('adds the credHelpers entry and keeps every other entry and the file mode', async () => {
    const file = path.join(dir, '.docker', 'config.json');
    await mkdir(path.dirname(file));
    const before = {
      auths: { 'other.example.com': { auth: 'dXNlcjpwYXNz' } },
      credsStore: 'desktop',
      credHelpers: { 'gcr.io': 'gcloud' },
      psFormat: 'table {{.ID}}',
    };
    await writeFile(file, JSON.stringify(before), { mode: 0o644 });
    const written = await configureCredHelpers('docker', ['registry.example.com:5000'], { HOME: dir });
    expect(written).toBe(file);
    const after = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(after).toEqual({ ...before, credHelpers: { 'gcr.io': 'gcloud', 'registry.example.com:5000': 'portcullis' } });
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    // Atomic replace: no temp file left behind.
    expect(await readdir(path.dirname(file))).toEqual(['config.json']);
  });

  it('creates a missing file 0600', async () => {
    const file = await configureCredHelpers('podman', ['r.example'], { HOME: dir, REGISTRY_AUTH_FILE: path.join(dir, 'c', 'auth.json') });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ credHelpers: { 'r.example': 'portcullis' } });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('leaves a file that is not JSON untouched and says so', async () => {
    const file = path.join(dir, 'auth.json');
    await writeFile(file, '{ broken');
    await expect(configureCredHelpers('podman', ['r.example'], { HOME: dir, REGISTRY_AUTH_FILE: file })).rejects.toThrow(/not valid JSON.*left untouched/);
    expect(await readFile(file, 'utf8')).toBe('{ broken');
  });

  it('refuses a credHelpers that is not an object', async () => {
    const file = path.join(dir, 'auth.json');
    await writeFile(file, JSON.stringify({ credHelpers: ['x'] }));
    await expect(configureCredHelpers('podman', ['r.example'], { HOME: dir, REGISTRY_AUTH_FILE: file })).rejects.toThrow(/"credHelpers" is not an object/);
  });
});

describe('the logins file', () => {
  const login = (broker: string): Login => ({
    broker,
    service: 'svc',
    tokenEndpoint: `${broker}/token`,
    revocationEndpoint: `${broker}/login/revoke`,
    refreshToken: 'pcr_secret',
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    registries: ['r.example:5000'],
  });

  it('is 0600 in a 0700 directory, and stays 0600 when an older file was wider', async () => {
    const file = loginsFile({ HOME: dir });
    const store = new LoginStore(file);
    await store.save(login('https://a.example'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    await chmod(file, 0o644);
    await store.save(login('https://b.example'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('one entry per broker; logout forgets the token but remembers which broker serves the registry', async () => {
    const store = new LoginStore(path.join(dir, 'logins.json'));
    await store.save(login('https://a.example'));
    await store.save({ ...login('https://b.example'), registries: ['b.example'] });
    expect(Object.keys((await store.read()).logins)).toEqual(['https://a.example', 'https://b.example']);
    expect(await store.remove('https://a.example')).toBe(true);
    expect(await store.forRegistry('r.example:5000')).toEqual({ broker: 'https://a.example', login: undefined });
    expect((await store.forRegistry('b.example'))?.login?.broker).toBe('https://b.example');
    expect(await store.forRegistry('unknown.example')).toBeUndefined();
  });

  it('a damaged file is an error that says what to do', async () => {
    const file = path.join(dir, 'logins.json');
    await writeFile(file, JSON.stringify({ version: 1, logins: { x: { broker: 1 } }, registries: {} }));
    await expect(new LoginStore(file).read()).rejects.toThrow(/damaged.*log in again/);
  });
});
