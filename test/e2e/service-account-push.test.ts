/**
 * The pod example of docs/ci.md without a cluster: a token shaped like a
 * projected Kubernetes service-account token (issuer = the cluster, audience =
 * the broker, claims under "kubernetes.io") is read from a file into
 * `skopeo login --password-stdin`, and skopeo pushes through the broker and a
 * real registry. The policy rule is the one printed in docs/ci.md, with the
 * test issuer's URL; another service account of the same name (a new uid) is refused.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { TestIssuer } from '../helpers/issuer.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { startRegistryFor, type RunningRegistry } from '../helpers/registry.js';
import { buildOciImage, type OciImage } from '../helpers/oci.js';
import { copyToRegistry, skopeo } from '../helpers/skopeo.js';
import { ROOT } from '../helpers/cli.js';

const SERVICE = 'registry.example.com';
const AUDIENCE = 'https://auth.example.com';

describe('a pod pushes with its projected service-account token (docs/ci.md)', () => {
  let cluster: TestIssuer;
  let broker: TestBroker;
  let registry: RunningRegistry;
  let image: OciImage;
  let work: string;
  let uid: string;

  const serviceAccountToken = (saUid: string) =>
    cluster.mint(
      { 'kubernetes.io': { namespace: 'builds', serviceaccount: { name: 'image-builder', uid: saUid }, pod: { name: 'push-example', uid: 'p-1' } } },
      { audience: [AUDIENCE], subject: 'system:serviceaccount:builds:image-builder', lifetimeSeconds: 600 },
    );

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'portcullis-e2e-sa-'));
    cluster = await TestIssuer.start();
    const doc = await readFile(path.join(ROOT, 'docs/ci.md'), 'utf8');
    const ruleText = /```yaml\n(- id: builds-image-builder[\s\S]*?)```/.exec(doc)?.[1];
    if (ruleText === undefined) throw new Error('docs/ci.md has no builds-image-builder rule');
    const [rule] = parseYaml(ruleText) as [{ issuer: string; when: Record<string, string> }];
    uid = rule.when['kubernetes\\.io.serviceaccount.uid'] as string;
    broker = await startBroker({
      issuers: [{ id: 'cluster', issuer: cluster.issuer, audiences: [AUDIENCE] }],
      policy: { version: 1, rules: [{ ...rule, issuer: cluster.issuer }] },
      services: [SERVICE],
    });
    registry = await startRegistryFor(broker, SERVICE);
    image = await buildOciImage(path.join(work, 'image'), { tag: '3.20' });
  });
  afterAll(async () => {
    await registry?.stop();
    await broker?.stop();
    await cluster?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('logs in from the token file and pushes under builds/', async () => {
    expect(uid).toMatch(/^[0-9a-f-]{36}$/);
    const tokenFile = path.join(work, 'token');
    await writeFile(tokenFile, await serviceAccountToken(uid), { mode: 0o600 });
    const authFile = path.join(work, 'auth.json');
    const login = await skopeo(['login', '--tls-verify=false', '--username', 'oidc', '--password-stdin', registry.host], {
      authFile,
      input: await readFile(tokenFile, 'utf8'),
    });
    expect(login.code, login.stderr).toBe(0);
    const pushed = await copyToRegistry(image.ref, registry.host, 'builds/alpine', '3.20', undefined, { authFile });
    expect(pushed.code, `${pushed.stderr}\n${broker.logs.slice(-3).join('\n')}`).toBe(0);
    expect(pushed.digest).toBe(image.manifestDigest);
  });

  it('a re-created service account of the same name (new uid) gets nothing', async () => {
    const creds = { username: 'oidc', password: await serviceAccountToken('11111111-2222-4333-8444-555555555555') };
    const refused = await copyToRegistry(image.ref, registry.host, 'builds/alpine', '3.21', creds);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/denied|unauthorized|insufficient_scope/i);
  });
});
