/**
 * podman and buildah (Debian's packages, vfs storage, no daemon) log in, push and
 * pull through Debian's real docker-registry with the broker as its token server,
 * in both kid modes distribution 2.8 accepts. A pull-only identity is refused push
 * by each client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer, githubActionsLogin } from '../helpers/issuer.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { startRegistryFor, type RunningRegistry } from '../helpers/registry.js';
import { buildOciImage, type OciImage } from '../helpers/oci.js';
import { dockerRef, inspectDigest } from '../helpers/skopeo.js';
import { ContainerEngine, assertEngineOk, type EngineName } from '../helpers/podman.js';

const SERVICE = 'e2e-registry';
const AUD = 'https://portcullis.e2e';

const policy = (iss: string) => ({
  version: 1,
  rules: [
    {
      id: 'builders',
      effect: 'allow',
      issuer: iss,
      when: { repository_owner_id: '65' },
      grants: [{ repository: 'team/65/**', actions: ['pull', 'push'] }],
    },
    {
      id: 'readers',
      effect: 'allow',
      issuer: iss,
      when: { repository_owner_id: '66' },
      grants: [{ repository: 'team/65/**', actions: ['pull'] }],
    },
  ],
});

for (const kidMode of ['libtrust', 'x5c'] as const) {
  describe(`podman and buildah through distribution 2.8 (${kidMode} kid mode)`, () => {
    let issuer: TestIssuer;
    let broker: TestBroker;
    let registry: RunningRegistry;
    let image: OciImage;
    let work: string;

    const creds = (ownerId: string) => githubActionsLogin(issuer, ownerId, AUD);

    beforeAll(async () => {
      work = await mkdtemp(path.join(tmpdir(), 'portcullis-e2e-engines-'));
      issuer = await TestIssuer.start();
      broker = await startBroker({
        issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD], maxTokenAge: 600 }],
        policy: policy(issuer.issuer),
        services: [SERVICE],
        kidMode,
      });
      registry = await startRegistryFor(broker, SERVICE);
      image = await buildOciImage(path.join(work, 'image'), { files: { 'hello.txt': `hello from ${kidMode}\n` }, tag: 'v1' });
    });

    afterAll(async () => {
      await registry?.stop();
      await broker?.stop();
      await issuer?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    for (const name of ['podman', 'buildah'] as const satisfies readonly EngineName[]) {
      describe(name, () => {
        let engine: ContainerEngine;
        const repo = `team/65/${name}`;
        const local = `localhost/portcullis-e2e/${name}:v1`;

        beforeAll(async () => {
          engine = await ContainerEngine.create(name);
          assertEngineOk(engine, await engine.importImage(image.ref, local), `import ${image.ref}`);
        });
        afterAll(async () => {
          await engine?.close();
        });

        it(`${name} login with the ID token as password succeeds, and with a bad token fails`, async () => {
          const bad = await engine.login(registry.host, { username: 'oidc', password: 'not-a-jwt' });
          expect(bad.code).not.toBe(0);
          expect(bad.stderr).toMatch(/unauthorized|401|invalid username\/password/i);
          const ok = await engine.login(registry.host, await creds('65'));
          expect(ok.code, `${ok.stderr}\n${registry.logs()}`).toBe(0);
        });

        it(`${name} pushes with the stored login and pulls the same manifest back`, async () => {
          const pushed = assertEngineOk(engine, await engine.push(local, registry.host, repo, 'v1'), 'push');
          expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
          // The registry holds exactly what the client says it pushed.
          expect(await inspectDigest(dockerRef(registry.host, repo, 'v1'), await creds('65'))).toBe(pushed.digest);

          // A second, empty sandbox pulls it as the pull-only identity.
          const reader = await ContainerEngine.create(name);
          try {
            assertEngineOk(reader, await reader.login(registry.host, await creds('66')), 'login (reader)');
            assertEngineOk(reader, await reader.pull(`${registry.host}/${repo}:v1`), 'pull');
            expect(await reader.digestsOf(`${registry.host}/${repo}:v1`)).toContain(pushed.digest);
          } finally {
            await reader.close();
          }
        });

        it(`${name} push as a pull-only identity is refused`, async () => {
          const reader = await ContainerEngine.create(name);
          try {
            assertEngineOk(reader, await reader.importImage(image.ref, local), 'import (reader)');
            assertEngineOk(reader, await reader.login(registry.host, await creds('66')), 'login (reader)');
            const refused = await reader.push(local, registry.host, repo, 'v2');
            expect(refused.code).not.toBe(0);
            expect(refused.stderr).toMatch(/denied|unauthorized|insufficient_scope/i);
            await expect(inspectDigest(dockerRef(registry.host, repo, 'v2'), await creds('65'))).rejects.toThrow(/manifest unknown|not found/i);
          } finally {
            await reader.close();
          }
        });
      });
    }
  });
}
