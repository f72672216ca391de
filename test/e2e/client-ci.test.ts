/**
 * The credential helper in CI, with no secret in the pipeline: the job's environment offers a workload
 * identity (GitHub Actions' ID-token request URL and token; a token file), and every `get` turns it
 * into a fresh ID token. A job that runs longer than one ID token lives still pushes, where a password
 * taken at the start would be refused. Real broker, real docker-registry, real podman and buildah.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../helpers/issuer.js';
import { basic, startBroker, type TestBroker } from '../helpers/broker.js';
import { startRegistryFor, type RunningRegistry } from '../helpers/registry.js';
import { buildOciImage, type OciImage } from '../helpers/oci.js';
import { newMachine, type Machine } from '../helpers/client.js';
import { ActionsIdTokenEndpoint } from '../helpers/actions-oidc.js';

const SERVICE = 'e2e-registry';
const AUD = 'https://portcullis.ci.e2e';
const ID_TOKEN_LIFETIME_SEC = 4;

describe('docker-credential-portcullis in a CI job', () => {
  let issuer: TestIssuer;
  let actions: ActionsIdTokenEndpoint;
  let broker: TestBroker;
  let registry: RunningRegistry;
  let machine: Machine;
  let image: OciImage;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'portcullis-e2e-ci-'));
    issuer = await TestIssuer.start();
    actions = await ActionsIdTokenEndpoint.start(issuer, ID_TOKEN_LIFETIME_SEC);
    broker = await startBroker({
      // Skew 0: an expired ID token is refused the moment it expires.
      issuers: [{ id: 'gha', issuer: issuer.issuer, audiences: [AUD], clockSkew: 0 }],
      policy: {
        version: 1,
        rules: [
          {
            id: 'octo-main',
            effect: 'allow',
            issuer: issuer.issuer,
            when: { repository: 'octo-org/octo-repo', ref: 'refs/heads/main' },
            grants: [{ repository: 'octo-org/**', actions: ['pull', 'push'] }],
          },
        ],
      },
      services: [SERVICE],
    });
    registry = await startRegistryFor(broker, SERVICE);
    image = await buildOciImage(path.join(work, 'image'), { files: { 'base.txt': 'base layer\n' }, tag: 'base' });
    // The job's environment: the runner's two variables, the audience, and the helper in auth.json.
    machine = await newMachine({ ...actions.env(), PORTCULLIS_AUDIENCE: AUD });
    await writeFile(machine.authFile, JSON.stringify({ credHelpers: { [registry.host]: 'portcullis' } }));
  }, 120_000);

  afterAll(async () => {
    await machine?.cleanup();
    await registry?.stop();
    await broker?.stop();
    await actions?.close();
    await issuer?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('get asks the Actions endpoint for a fresh ID token with the configured audience, on every call', async () => {
    const first = await machine.helper('get', registry.host);
    const second = await machine.helper('get', registry.host);
    expect(first.code, first.stdout).toBe(0);
    const a = JSON.parse(first.stdout) as Record<string, string>;
    const b = JSON.parse(second.stdout) as Record<string, string>;
    expect(a).toMatchObject({ ServerURL: registry.host, Username: 'oidc' });
    expect(a.Secret).not.toBe(b.Secret);
    expect(actions.minted.slice(-2).map((m) => m.audience)).toEqual([AUD, AUD]);
    expect(actions.minted.slice(-2).map((m) => m.token)).toEqual([a.Secret, b.Secret]);
  });

  it('a job that lasts longer than one ID token: pull, wait past the expiry, build, push', async () => {
    const seeded = await machine.skopeo(['copy', '--dest-tls-verify=false', image.ref, `docker://${registry.host}/octo-org/app:base`]);
    expect(seeded.code, seeded.stderr).toBe(0);

    const started = Date.now();
    const pulled = await machine.buildah(['from', '--tls-verify=false', '--name', 'job', `${registry.host}/octo-org/app:base`]);
    expect(pulled.code, pulled.stderr).toBe(0);
    const firstOfJob = actions.minted.at(-1);
    expect(firstOfJob).toBeDefined();

    // The "build" outlives the ID token the job started with.
    await sleep((ID_TOKEN_LIFETIME_SEC + 1) * 1000);
    const artefact = path.join(work, 'artefact.txt');
    await writeFile(artefact, 'built in CI\n');
    expect((await machine.buildah(['copy', 'job', artefact, '/artefact.txt'])).code).toBe(0);
    expect((await machine.buildah(['commit', 'job', `${registry.host}/octo-org/app:built`])).code).toBe(0);

    // A password copied into the job at its start would be refused now.
    const stale = await fetch(`${broker.url}/token?service=${SERVICE}&scope=repository:octo-org/app:push,pull`, {
      headers: { authorization: basic('oidc', firstOfJob?.token as string) },
    });
    expect(stale.status).toBe(401);
    expect(await stale.text()).toMatch(/expired/);

    const pushed = await machine.buildah(['push', '--tls-verify=false', `${registry.host}/octo-org/app:built`]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(ID_TOKEN_LIFETIME_SEC * 1000);
    // The push ran on an ID token minted after the first one had expired.
    const last = actions.minted.at(-1);
    expect(last?.token).not.toBe(firstOfJob?.token);
    expect(last?.at ?? 0).toBeGreaterThan((firstOfJob?.at ?? 0) + ID_TOKEN_LIFETIME_SEC * 1000);

    const pulledBack = await machine.podman(['pull', '--tls-verify=false', `${registry.host}/octo-org/app:built`]);
    expect(pulledBack.code, pulledBack.stderr).toBe(0);
  });

  it('the policy still decides: a repository outside the grant is refused', async () => {
    const pushed = await machine.skopeo(['copy', '--dest-tls-verify=false', image.ref, `docker://${registry.host}/someone-else/app:x`]);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toMatch(/denied|unauthorized/i);
  });

  it('a token file (Kubernetes projected service-account token) works the same way, re-read on each call', async () => {
    const tokenFile = path.join(work, 'token');
    await writeFile(tokenFile, await issuer.mint(githubLike(), { audience: AUD, lifetimeSeconds: 60 }));
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '', PORTCULLIS_ID_TOKEN_FILE: tokenFile };
    const pushed = await machine.skopeo(['copy', '--dest-tls-verify=false', image.ref, `docker://${registry.host}/octo-org/k8s:v1`], env);
    expect(pushed.code, pushed.stderr).toBe(0);

    // The kubelet replaced the token with one for another audience: the broker refuses it, and says why.
    await writeFile(tokenFile, await issuer.mint(githubLike(), { audience: 'https://elsewhere', lifetimeSeconds: 60 }));
    const refused = await machine.skopeo(['inspect', '--tls-verify=false', `docker://${registry.host}/octo-org/k8s:v1`], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/audience/);
  });
});

function githubLike(): Record<string, unknown> {
  return { repository: 'octo-org/octo-repo', ref: 'refs/heads/main' };
}
