/**
 * `portcullis login` against the real broker, end to end: the company's provider is the real
 * `oidc-provider` (sign-in and consent pages), the person is Debian's chromium driven by playwright-core,
 * the CLI runs as a child process, the registry is Debian's docker-registry, and skopeo, podman and
 * buildah reach it through `docker-credential-portcullis` configured by `--configure`.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { signInAtCompanyIdp, startCompanyIdp, type CompanyIdp } from '../helpers/company-idp.js';
import { launchChromium, type TestBrowser } from '../helpers/chromium.js';
import { startRegistryFor, type RunningRegistry } from '../helpers/registry.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { buildOciImage, type OciImage } from '../helpers/oci.js';
import { freePort } from '../helpers/ports.js';
import { newMachine, startPortcullis, type Machine } from '../helpers/client.js';

const SERVICE = 'login-registry';
const CLIENT_ID = 'portcullis-broker';
const CLIENT_SECRET = randomBytes(24).toString('base64url');

describe('portcullis login against the real broker, approved in chromium', () => {
  let work: string;
  let redis: RedisServer;
  let idp: CompanyIdp;
  let broker: TestBroker;
  let registry: RunningRegistry;
  let image: OciImage;
  let browser: TestBrowser;
  let page: Page;
  let machine: Machine;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'portcullis-e2e-cli-login-'));
    redis = await startRedis();
    const brokerPort = await freePort();
    const registryPort = await freePort();
    idp = await startCompanyIdp({
      users: [{ sub: 'u-carol', password: 'carol-pass', name: 'Carol Example', email: 'carol@example.com', emailVerified: true, groups: ['team-web'] }],
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`http://127.0.0.1:${brokerPort}/login/callback`] }],
    });
    const secretFile = path.join(work, 'client-secret');
    await writeFile(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
    broker = await startBroker({
      policy: {
        version: 1,
        rules: [{ id: 'carol-web', effect: 'allow', issuer: '$corp', when: { email: 'carol@example.com' }, grants: [{ repository: 'team/web/**', actions: ['pull', 'push'] }] }],
      },
      services: [SERVICE],
      port: brokerPort,
      extra: {
        store: { type: 'redis', url: redis.url, keyPrefix: 'e2e-cli-login:' },
        login: {
          brokerName: 'Example Corp Registry',
          providers: [{ id: 'corp', name: 'Example Corp SSO', issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: { file: secretFile }, scopes: ['openid', 'email', 'profile'] }],
          registries: [`127.0.0.1:${registryPort}`],
          device: { codeLifetime: 60, interval: 1 },
        },
      },
    });
    registry = await startRegistryFor(broker, SERVICE, { port: registryPort });
    image = await buildOciImage(path.join(work, 'image'), { files: { 'hello.txt': 'pushed after portcullis login\n' }, tag: 'v1' });
    browser = await launchChromium();
    page = await browser.context.newPage();
    machine = await newMachine();
    // What the person already had: other registries' entries must survive --configure.
    await mkdir(path.dirname(machine.dockerConfig), { recursive: true });
    await writeFile(machine.dockerConfig, JSON.stringify({ auths: { 'other.example': { auth: 'dTpw' } }, credHelpers: { 'gcr.io': 'gcloud' } }));
    await writeFile(machine.authFile, JSON.stringify({ auths: { 'quay.example': { auth: 'dTpw' } } }));
  }, 120_000);

  afterAll(async () => {
    await machine?.cleanup();
    await browser?.close();
    await registry?.stop();
    await broker?.stop();
    await idp?.close();
    await redis?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('browser hand-off: the CLI opens the broker, the person signs in, the loopback listener gets the code', async () => {
    const cli = startPortcullis(machine, ['login', broker.url, '--browser', '--configure', 'podman'], { BROWSER: '/bin/true' });
    const [, address] = await cli.waitForLine(/^ {2}(http\S+\/login\/cli\?\S+)$/m);
    const authorize = new URL(address as string);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const redirectUri = authorize.searchParams.get('redirect_uri') as string;
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    // A page guessing the listener's port, without the state, is turned away and does not end the wait.
    const forged = await fetch(`${redirectUri}?code=pco_forged&state=wrong`);
    expect(forged.status).toBe(400);

    await page.goto(address as string);
    expect(new URL(page.url()).origin).toBe(idp.issuer);
    await signInAtCompanyIdp(page, 'u-carol', 'carol-pass');
    // The broker sent the browser back to the CLI's loopback listener.
    await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Signed in');

    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Signed in to ${broker.url} as Carol Example`);
    expect((await stat(machine.loginsFile)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(machine.authFile, 'utf8'))).toEqual({
      auths: { 'quay.example': { auth: 'dTpw' } },
      credHelpers: { [registry.host]: 'portcullis' },
    });
  });

  it('the result page\'s one-time code pushes once; once it is spent, skopeo pushes through the helper', async () => {
    // The browser is signed in at the broker since the hand-off: the result page shows a one-time code.
    await page.goto(`${broker.url}/login/result`);
    const code = await page.inputValue('#code');
    expect(code).toMatch(/^pco_/);
    const dest = `docker://${registry.host}/team/web/app:v1`;
    const withCode = await machine.skopeo(['copy', '--dest-tls-verify=false', '--dest-username', 'oidc', '--dest-password', code, image.ref, dest]);
    expect(withCode.code, withCode.stderr).toBe(0);
    const spent = await machine.skopeo(['copy', '--dest-tls-verify=false', '--dest-username', 'oidc', '--dest-password', code, image.ref, `${dest}-again`]);
    expect(spent.code).not.toBe(0);
    expect(spent.stderr).toMatch(/401|unauthorized/i);

    const viaHelper = await machine.skopeo(['copy', '--dest-tls-verify=false', image.ref, `docker://${registry.host}/team/web/app:v2`]);
    expect(viaHelper.code, viaHelper.stderr).toBe(0);
    expect(broker.logs.some((l) => l.includes('"grant":"refresh_token"') && l.includes('token issued'))).toBe(true);
  });

  it('device flow: the CLI prints a code, the signed-in person approves it in chromium', async () => {
    const cli = startPortcullis(machine, ['login', broker.url, '--device', '--configure', 'docker,podman', '--json']);
    const [, complete] = await cli.waitForLine(/^\(or open (http\S+\/device\?user_code=\S+)\)$/m);
    await page.goto(complete as string);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('A device asks to sign in as you');
    await page.getByRole('button', { name: 'Approve' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Device approved');

    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const outcome = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(outcome).toMatchObject({ broker: broker.url, service: SERVICE, name: 'Carol Example', registries: [registry.host], configured: [machine.dockerConfig, machine.authFile] });
    expect(result.stdout).not.toContain('pcr_');
    expect(JSON.parse(await readFile(machine.dockerConfig, 'utf8'))).toEqual({
      auths: { 'other.example': { auth: 'dTpw' } },
      credHelpers: { 'gcr.io': 'gcloud', [registry.host]: 'portcullis' },
    });
  });

  it('podman and buildah pull and push through the helper', async () => {
    const pulled = await machine.podman(['pull', '--tls-verify=false', `${registry.host}/team/web/app:v1`]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect((await machine.podman(['tag', `${registry.host}/team/web/app:v1`, `${registry.host}/team/web/app:podman`])).code).toBe(0);
    const pushed = await machine.podman(['push', '--tls-verify=false', `${registry.host}/team/web/app:podman`]);
    expect(pushed.code, pushed.stderr).toBe(0);

    expect((await machine.buildah(['from', '--tls-verify=false', '--name', 'ctr', `${registry.host}/team/web/app:podman`])).code).toBe(0);
    const note = path.join(work, 'note.txt');
    await writeFile(note, 'built by buildah\n');
    expect((await machine.buildah(['copy', 'ctr', note, '/note.txt'])).code).toBe(0);
    expect((await machine.buildah(['commit', 'ctr', `${registry.host}/team/web/app:buildah`])).code).toBe(0);
    const built = await machine.buildah(['push', '--tls-verify=false', `${registry.host}/team/web/app:buildah`]);
    expect(built.code, built.stderr).toBe(0);
  });

  it('a push outside what the policy grants is refused by the broker, not by the helper', async () => {
    const pushed = await machine.skopeo(['copy', '--dest-tls-verify=false', image.ref, `docker://${registry.host}/team/ops/app:v1`]);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toMatch(/denied|unauthorized/i);
  });

  it('a device code refused in the browser ends the CLI with one line', async () => {
    const cli = startPortcullis(machine, ['login', broker.url, '--device']);
    const [, complete] = await cli.waitForLine(/^\(or open (http\S+\/device\?user_code=\S+)\)$/m);
    await page.goto(complete as string);
    await page.getByRole('button', { name: 'Deny' }).click();
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toBe('portcullis: the sign-in was refused in the browser');
  });

  it('after `portcullis logout` the broker has ended the session and the helper refuses with one line', async () => {
    const before = JSON.parse((await machine.helper('get', registry.host)).stdout) as { Secret: string };
    const out = await machine.portcullis(['logout', broker.url]);
    expect(out.code, out.stderr).toBe(0);

    const got = await machine.helper('get', registry.host);
    expect(got.code).toBe(1);
    expect(got.stdout).toBe(`portcullis: not signed in to ${broker.url}; run \`portcullis login ${broker.url}\`\n`);

    const refresh = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: before.Secret, service: SERVICE, client_id: 't' }).toString(),
    });
    expect(refresh.status).toBe(401);

    const pushed = await machine.skopeo(['copy', '--dest-tls-verify=false', image.ref, `docker://${registry.host}/team/web/app:after`]);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toContain(`run \`portcullis login ${broker.url}\``);
  });

  it('a session an operator revoked (`sessions revoke --subject`): the helper says so in one line', async () => {
    const cli = startPortcullis(machine, ['login', broker.url, '--device']);
    const [, complete] = await cli.waitForLine(/^\(or open (http\S+\/device\?user_code=\S+)\)$/m);
    await page.goto(complete as string);
    await page.getByRole('button', { name: 'Approve' }).click();
    expect((await cli.done).code).toBe(0);
    expect((await machine.helper('get', registry.host)).code).toBe(0);

    expect(await broker.broker.sessions.revoke({ subject: 'u-carol' })).toBeGreaterThan(0);
    const got = await machine.helper('get', registry.host);
    expect(got.code).toBe(1);
    expect(got.stdout).toBe(`portcullis: your session at ${broker.url} has ended; run \`portcullis login ${broker.url}\`\n`);
  });
});
