/**
 * Portcullis end to end: a CI job's OIDC token pushes an image through Debian's
 * real docker-registry (distribution 2.8.2) with the real skopeo, with the
 * registry trusting the bundle that `portcullis keys export` prints.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer, githubActionsIdToken, githubActionsLogin } from '../helpers/issuer.js';
import { basic, decodeJwt, startBroker, TEST_TOKEN_ISSUER, type TestBroker } from '../helpers/broker.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { buildOciImage, type OciImage } from '../helpers/oci.js';
import { copyFromRegistry, copyToRegistry, deleteImage, dockerRef, inspectDigest, login } from '../helpers/skopeo.js';
import { runCli } from '../helpers/cli.js';

const SERVICE = 'e2e-registry';
const AUD = 'https://portcullis.e2e';

/** Runs the real CLI the way an operator would. */
async function cli(args: string[]): Promise<string> {
  const result = await runCli(args);
  if (result.code !== 0) throw new Error(`portcullis ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

const policy = (iss: string) => ({
  version: 1,
  rules: [
    {
      id: 'octo-org-builds',
      description: 'CI of octo-org pushes under team/',
      effect: 'allow',
      issuer: iss,
      when: { repository_owner_id: '65', ref: { glob: 'refs/heads/*' } },
      grants: [{ repository: 'team/${repository_owner_id}/**', actions: ['pull', 'push'] }],
    },
    {
      id: 'readers',
      effect: 'allow',
      issuer: iss,
      when: { repository_owner_id: '66' },
      grants: [{ repository: 'team/65/**', actions: ['pull'] }],
    },
    {
      id: 'registry-admins',
      effect: 'allow',
      issuer: iss,
      when: { repository_owner_id: '1' },
      grants: [{ repository: 'team/**', actions: ['*'] }, { registry: 'catalog' }],
    },
  ],
});

for (const kidMode of ['libtrust', 'x5c'] as const) {
  describe(`push and pull through distribution 2.8 (${kidMode} kid mode)`, () => {
    let issuer: TestIssuer;
    let broker: TestBroker;
    let registry: RunningRegistry;
    let image: OciImage;
    let work: string;

    const idToken = (ownerId: string) => githubActionsIdToken(issuer, ownerId, AUD);
    const creds = (ownerId: string) => githubActionsLogin(issuer, ownerId, AUD);

    beforeAll(async () => {
      work = await mkdtemp(path.join(tmpdir(), 'portcullis-e2e-'));
      issuer = await TestIssuer.start();
      broker = await startBroker({
        issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD], maxTokenAge: 600 }],
        policy: policy(issuer.issuer),
        services: [SERVICE],
        kidMode,
      });
      // The operator's step: export the certificate bundle the registry trusts.
      const bundle = await cli(['keys', 'export', '--format', 'cert', '--config', broker.configPath]);
      expect(bundle).toMatch(/^-----BEGIN CERTIFICATE-----/);
      await writeFile(path.join(work, 'bundle.pem'), bundle);
      registry = await startRegistry({ realm: `${broker.url}/token`, service: SERVICE, issuer: TEST_TOKEN_ISSUER, rootCertBundle: bundle });
      image = await buildOciImage(path.join(work, 'image'), { files: { 'hello.txt': `hello from ${kidMode}\n` }, tag: 'v1' });
    });

    afterAll(async () => {
      await registry?.stop();
      await broker?.stop();
      await issuer?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('emits the header the registry needs for this mode', async () => {
      const res = await fetch(`${broker.url}/token?service=${SERVICE}`, { headers: { authorization: basic('oidc', await idToken('65')) } });
      const { header } = decodeJwt(((await res.json()) as { token: string }).token);
      expect(header.kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
      if (kidMode === 'x5c') expect(Array.isArray(header.x5c)).toBe(true);
      else expect(header).not.toHaveProperty('x5c');
    });

    it('skopeo login with the ID token succeeds, and with a bad token fails', async () => {
      const ok = await login(registry.host, await creds('65'));
      expect(ok.code, ok.stderr).toBe(0);
      const bad = await login(registry.host, { username: 'oidc', password: 'garbage' });
      expect(bad.code).not.toBe(0);
    });

    it('pushes with --dest-creds oidc:<ID token>, pulls back, and the digests match', async () => {
      const pushed = await copyToRegistry(image.ref, registry.host, 'team/65/app', 'v1', await creds('65'));
      expect(pushed.code, `${pushed.stderr}\n${registry.logs()}`).toBe(0);
      expect(pushed.digest).toBe(image.manifestDigest);
      expect(await inspectDigest(dockerRef(registry.host, 'team/65/app', 'v1'), await creds('65'))).toBe(image.manifestDigest);
      const back = path.join(work, `pulled-${kidMode}`);
      const pulled = await copyFromRegistry(registry.host, 'team/65/app', 'v1', back, 'v1', await creds('66'));
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(await inspectDigest(`oci:${back}:v1`)).toBe(image.manifestDigest);
    });

    it('an identity allowed only pull is refused on push', async () => {
      const refused = await copyToRegistry(image.ref, registry.host, 'team/65/app', 'v2', await creds('66'));
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/denied|unauthorized|insufficient_scope/i);
    });

    it('an identity whose owner does not match gets nothing, even for a repository named after it', async () => {
      const refused = await copyToRegistry(image.ref, registry.host, 'team/999/app', 'v1', await creds('999'));
      expect(refused.code).not.toBe(0);
    });

    it('GET /v2/_catalog works for an identity granted registry:catalog:*', async () => {
      const tokenRes = await fetch(`${broker.url}/token?service=${SERVICE}&scope=${encodeURIComponent('registry:catalog:*')}`, {
        headers: { authorization: basic('oidc', await idToken('1')) },
      });
      const { token } = (await tokenRes.json()) as { token: string };
      const catalog = await fetch(`${registry.url}/v2/_catalog`, { headers: { authorization: `Bearer ${token}` } });
      expect(catalog.status).toBe(200);
      expect(((await catalog.json()) as { repositories: string[] }).repositories).toContain('team/65/app');

      const readerToken = (await (await fetch(`${broker.url}/token?service=${SERVICE}&scope=${encodeURIComponent('registry:catalog:*')}`, {
        headers: { authorization: basic('oidc', await idToken('66')) },
      })).json()) as { token: string };
      const denied = await fetch(`${registry.url}/v2/_catalog`, { headers: { authorization: `Bearer ${readerToken.token}` } });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toContain('insufficient_scope');
    });

    it('skopeo delete is refused without delete rights and works where * is granted', async () => {
      const ref = dockerRef(registry.host, 'team/65/app', 'v1');
      const refused = await deleteImage(ref, await creds('65'));
      expect(refused.code).not.toBe(0);
      const deleted = await deleteImage(ref, await creds('1'));
      expect(deleted.code, deleted.stderr).toBe(0);
      await expect(inspectDigest(ref, await creds('1'))).rejects.toThrow(/manifest unknown|not found/i);
    });
  });
}
