/**
 * A person's machine end to end: `portcullis login` (device flow and browser hand-off, the CLI as a
 * child process), `--configure docker,podman`, then skopeo, podman and buildah push and pull through
 * `docker-credential-portcullis` via credHelpers against the real broker and the real docker-registry.
 * After `portcullis logout` the helper refuses with one line.
 *
 * The login endpoints are served by the contract stand-in (test/helpers/login-standin.ts) until the
 * broker's own are merged; refresh tokens, /token and revocation are the real broker's.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../helpers/issuer.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { buildOciImage, type OciImage } from '../helpers/oci.js';
import { newMachine, startPortcullis, type Machine } from '../helpers/client.js';
import { LoginStandin } from '../helpers/login-standin.js';

const SERVICE = 'e2e-registry';
const AUD = 'https://portcullis.e2e';

describe('a person signs in with `portcullis login` and docker clients use the helper', () => {
  let issuer: TestIssuer;
  let broker: TestBroker;
  let registry: RunningRegistry;
  let standin: LoginStandin;
  let machine: Machine;
  let image: OciImage;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'portcullis-e2e-person-'));
    issuer = await TestIssuer.start();
    broker = await startBroker({
      issuers: [{ id: 'corp', issuer: issuer.issuer, audiences: [AUD] }],
      policy: {
        version: 1,
        rules: [{ id: 'team', effect: 'allow', issuer: issuer.issuer, when: { team: 'web' }, grants: [{ repository: 'team/**', actions: ['pull', 'push'] }] }],
      },
      services: [SERVICE],
      // Refresh sessions in the broker's memory store: this test never restarts it.
      extra: { sessions: { refreshTokens: { enabled: true } } },
    });
    registry = await startRegistry({ realm: `${broker.url}/token`, service: SERVICE, issuer: 'portcullis-test', rootCertBundle: broker.broker.keyRing.certificateBundle() });
    standin = await LoginStandin.start({ broker, issuer, audience: AUD, service: SERVICE, registries: [registry.host], claims: { team: 'web' }, subject: 'alice@example.com' });
    image = await buildOciImage(path.join(work, 'image'), { files: { 'hello.txt': 'from a person\n' }, tag: 'v1' });
    machine = await newMachine();
    // What the person already had: other registries' credentials must survive --configure.
    await mkdir(path.dirname(machine.dockerConfig), { recursive: true });
    await writeFile(machine.dockerConfig, JSON.stringify({ auths: { 'other.example': { auth: 'dTpw' } }, credHelpers: { 'gcr.io': 'gcloud' } }));
    await writeFile(machine.authFile, JSON.stringify({ auths: { 'quay.example': { auth: 'dTpw' } } }));
  }, 120_000);

  afterAll(async () => {
    await machine?.cleanup();
    await standin?.close();
    await registry?.stop();
    await broker?.stop();
    await issuer?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('device flow: the CLI prints a user code, polls until it is approved, keeps the token 0600 and configures both clients', async () => {
    const cli = startPortcullis(machine, ['login', standin.url, '--device', '--configure', 'docker,podman']);
    const [, userCode] = await cli.waitForLine(/^ {2}([A-Z0-9]{4}-[A-Z0-9]{4})$/m);
    expect(userCode).toBeDefined();
    standin.decide(userCode as string, 'approved');
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Signed in to ${standin.url} as Test Person`);

    expect((await stat(machine.loginsFile)).mode & 0o777).toBe(0o600);
    const logins = JSON.parse(await readFile(machine.loginsFile, 'utf8')) as { logins: Record<string, { refreshToken: string }> };
    expect(logins.logins[standin.url]?.refreshToken).toMatch(/^pcr_/);

    expect(JSON.parse(await readFile(machine.dockerConfig, 'utf8'))).toEqual({
      auths: { 'other.example': { auth: 'dTpw' } },
      credHelpers: { 'gcr.io': 'gcloud', [registry.host]: 'portcullis' },
    });
    expect(JSON.parse(await readFile(machine.authFile, 'utf8'))).toEqual({
      auths: { 'quay.example': { auth: 'dTpw' } },
      credHelpers: { [registry.host]: 'portcullis' },
    });
  });

  it('the helper answers `get` with the identity token, so clients use the refresh_token grant', async () => {
    const got = await machine.helper('get', registry.host);
    expect(got.code, got.stdout).toBe(0);
    const creds = JSON.parse(got.stdout) as Record<string, string>;
    expect(creds).toMatchObject({ ServerURL: registry.host, Username: '<token>' });
    expect(creds.Secret).toMatch(/^pcr_/);
    expect(JSON.parse((await machine.helper('list', '')).stdout)).toEqual({ [registry.host]: '<token>' });
  });

  it('skopeo pushes through the helper (credHelpers in auth.json), with no password anywhere', async () => {
    const pushed = await machine.skopeo(['copy', '--dest-tls-verify=false', image.ref, `docker://${registry.host}/team/web/app:v1`]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(broker.logs.some((l) => l.includes('"grant":"refresh_token"') && l.includes('token issued'))).toBe(true);
  });

  it('podman pulls and pushes through the helper', async () => {
    const pulled = await machine.podman(['pull', '--tls-verify=false', `${registry.host}/team/web/app:v1`]);
    expect(pulled.code, pulled.stderr).toBe(0);
    const tagged = await machine.podman(['tag', `${registry.host}/team/web/app:v1`, `${registry.host}/team/web/app:podman`]);
    expect(tagged.code, tagged.stderr).toBe(0);
    const pushed = await machine.podman(['push', '--tls-verify=false', `${registry.host}/team/web/app:podman`]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const inspected = await machine.skopeo(['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${registry.host}/team/web/app:podman`]);
    expect(inspected.code, inspected.stderr).toBe(0);
  });

  it('buildah builds on a pulled image and pushes the result through the helper', async () => {
    const from = await machine.buildah(['from', '--tls-verify=false', '--name', 'ctr', `${registry.host}/team/web/app:v1`]);
    expect(from.code, from.stderr).toBe(0);
    const note = path.join(work, 'note.txt');
    await writeFile(note, 'added by buildah\n');
    const added = await machine.buildah(['copy', 'ctr', note, '/note.txt']);
    expect(added.code, added.stderr).toBe(0);
    const committed = await machine.buildah(['commit', 'ctr', `${registry.host}/team/web/app:buildah`]);
    expect(committed.code, committed.stderr).toBe(0);
    const pushed = await machine.buildah(['push', '--tls-verify=false', `${registry.host}/team/web/app:buildah`]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const check = await machine.skopeo(['inspect', '--tls-verify=false', `docker://${registry.host}/team/web/app:buildah`]);
    expect(check.code, check.stderr).toBe(0);
    expect((JSON.parse(check.stdout) as { Layers: string[] }).Layers).toHaveLength(2);
  });

  it('a push outside what the policy grants is refused by the broker, not by the helper', async () => {
    const pushed = await machine.skopeo(['copy', '--dest-tls-verify=false', image.ref, `docker://${registry.host}/other/app:v1`]);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toMatch(/denied|unauthorized|401|403/i);
  });

  it('after `portcullis logout` the session is revoked and the helper refuses with one line', async () => {
    const before = JSON.parse((await machine.helper('get', registry.host)).stdout) as { Secret: string };
    const out = await machine.portcullis(['logout', registry.host]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe(`Signed out of ${standin.url}.\n`);

    const got = await machine.helper('get', registry.host);
    expect(got.code).toBe(1);
    expect(got.stdout).toBe(`portcullis: not signed in to ${standin.url}; run \`portcullis login ${standin.url}\`\n`);

    // Revoked at the broker too: the old token no longer refreshes.
    const refresh = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: before.Secret, service: SERVICE, client_id: 't' }).toString(),
    });
    expect(refresh.status).toBe(401);

    const pulled = await machine.podman(['pull', '--tls-verify=false', `${registry.host}/team/web/app:v1`]);
    expect(pulled.code).not.toBe(0);
    expect(pulled.stderr).toContain(`run \`portcullis login ${standin.url}\``);
  });

  it('browser hand-off: loopback listener, state checked, code + PKCE verifier redeemed', async () => {
    const cli = startPortcullis(machine, ['login', standin.url, '--browser'], { BROWSER: '/bin/true' });
    const [, address] = await cli.waitForLine(/^ {2}(http\S+\/login\/cli\?\S+)$/m);
    const authorize = new URL(address as string);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const redirectUri = authorize.searchParams.get('redirect_uri') as string;
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    // A page guessing the port, without the state, is turned away and does not end the login.
    const forged = await fetch(`${redirectUri}?code=forged&state=wrong`);
    expect(forged.status).toBe(400);

    // The "browser": sign-in at the broker, which redirects back to the loopback listener.
    const atBroker = await fetch(address as string, { redirect: 'manual' });
    expect(atBroker.status).toBe(302);
    const back = await fetch(atBroker.headers.get('location') as string);
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('You are signed in');

    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const got = await machine.helper('get', registry.host);
    expect(got.code, got.stdout).toBe(0);
  });

  it('a session an operator revoked: the helper says so in one line', async () => {
    await broker.broker.sessions.revoke({ all: true });
    const got = await machine.helper('get', registry.host);
    expect(got.code).toBe(1);
    expect(got.stdout).toBe(`portcullis: your session at ${standin.url} has ended; run \`portcullis login ${standin.url}\`\n`);
  });
});
