/**
 * The Helm chart, rendered by a real helm binary (no cluster needed): lint,
 * template with several values files, and the broker's own `config check` on
 * every configuration the chart renders.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { configSchema } from '../../../src/config/index.js';
import { createSelfSignedCertificate, exportPrivateKeyPem, generateSigningKey } from '../../../src/keys/index.js';
import { CHART_DIR, helm, manifestOf, renderChart, type Manifest } from '../../helpers/helm.js';
import { runCli } from '../../helpers/cli.js';
import { helmValuesSchema } from '../../helpers/helm-values-schema.js';

const VALUES = {
  default: 'ci/default-values.yaml',
  production: 'ci/production-values.yaml',
  failClosed: 'ci/fail-closed-values.yaml',
} as const;

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => v as Rec;

function brokerConfig(manifests: Manifest[]): Rec {
  const cm = manifestOf(manifests, 'ConfigMap', 'portcullis');
  return rec(parseYaml(String(rec(cm.data)['portcullis.yaml'])));
}
function podSpec(manifests: Manifest[]): Rec {
  return rec(rec(rec(manifestOf(manifests, 'Deployment').spec).template).spec);
}
function container(manifests: Manifest[]): Rec {
  return rec((podSpec(manifests).containers as Rec[])[0]);
}
function podAnnotations(manifests: Manifest[]): Record<string, string> {
  return rec(rec(rec(manifestOf(manifests, 'Deployment').spec).template).metadata).annotations as Record<string, string>;
}

/** Replaces the container's absolute paths by the same paths under `root`. */
function relocate(value: unknown, root: string): unknown {
  if (typeof value === 'string') return /^\/(etc|var\/lib)\/portcullis(\/|$)/.test(value) ? path.join(root, value) : value;
  if (Array.isArray(value)) return value.map((v) => relocate(v, root));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relocate(v, root)]));
  return value;
}

describe('Helm chart rendered by helm', () => {
  let work: string;
  let keyPem: string;
  let certPem: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'portcullis-helm-'));
    const key = await generateSigningKey('ES256');
    keyPem = exportPrivateKeyPem(key);
    certPem = await createSelfSignedCertificate(key, 'ES256', { days: 30, subject: 'portcullis helm test' });
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('values.schema.json is the one generated from the configuration schema', async () => {
    const committed: unknown = JSON.parse(await readFile(path.join(CHART_DIR, 'values.schema.json'), 'utf8'));
    expect(committed, 'regenerate: npx tsx test/helpers/helm-values-schema.ts > deploy/helm/portcullis/values.schema.json').toEqual(
      helmValuesSchema(),
    );
  });

  it.each(Object.entries(VALUES))('helm lint --strict passes with %s values', async (_name, file) => {
    const result = await helm(['lint', '--strict', '.', '-f', file]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  /** Lays out the files the pod would see and runs the real CLI's `config check` on the rendered configuration. */
  async function configCheck(name: string, file: string): Promise<void> {
    const manifests = await renderChart([file]);
    const root = path.join(work, name);
    const config = relocate(brokerConfig(manifests), root) as Rec;
    // Lay out the files the pod would see, at the paths the configuration names.
    await mkdir(path.join(root, 'etc/portcullis/keys'), { recursive: true });
    await writeFile(path.join(root, 'etc/portcullis/keys/signing-key.pem'), keyPem, { mode: 0o600 });
    await writeFile(path.join(root, 'etc/portcullis/keys/signing-key.crt'), certPem);
    const policyCm = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'portcullis-policy');
    const policy = policyCm ? String(rec(policyCm.data)['policy.yaml']) : 'version: 1\nrules: []\n';
    await mkdir(path.join(root, 'etc/portcullis/policy'), { recursive: true });
    await writeFile(path.join(root, 'etc/portcullis/policy/policy.yaml'), policy);
    for (const mount of (container(manifests).volumeMounts as Rec[]).filter((m) => !String(m.mountPath).startsWith('/etc/portcullis/keys'))) {
      if (String(mount.mountPath).startsWith('/etc/portcullis/') && !String(mount.mountPath).endsWith('.yaml')) {
        await mkdir(path.join(root, String(mount.mountPath)), { recursive: true });
      }
    }
    const caFile = (config.store as { tls?: { caFile?: string } }).tls?.caFile;
    if (caFile) await writeFile(caFile, certPem);
    const adminToken = (config.admin as { enabled?: boolean; token?: { file?: string } } | undefined)?.token?.file;
    if (adminToken) await writeFile(adminToken, 'a-long-random-admin-token-for-the-test\n');
    for (const provider of (config.login as { providers?: { clientSecret?: { file?: string } }[] } | undefined)?.providers ?? []) {
      if (provider.clientSecret?.file) await writeFile(provider.clientSecret.file, 'stand-in-client-secret\n', { mode: 0o600 });
    }
    const configPath = path.join(root, 'portcullis.yaml');
    await writeFile(configPath, stringify(config));

    // Secrets the Deployment takes from Kubernetes Secrets get stand-in values.
    const env = Object.fromEntries(((container(manifests).env as Rec[] | undefined) ?? []).map((e) => [String(e.name), 'stand-in-secret']));
    const result = await runCli(['config', 'check', '-c', configPath], { env: { ...process.env, ...env } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('configuration OK');
  }

  it.each(Object.entries(VALUES))('the configuration rendered from %s values passes `portcullis config check`', async (name, file) => {
    await configCheck(name, file);
  });

  it('the values of docs/deployment.md render and pass `portcullis config check`', async () => {
    const doc = await readFile(path.join(CHART_DIR, '../../../docs/deployment.md'), 'utf8');
    const values = /`values-prod\.yaml`[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(values).toBeDefined();
    const file = path.join(work, 'docs-values.yaml');
    // The reader fills in the placeholders; so does the test.
    await writeFile(file, (values as string).replaceAll('<org>', 'example-org').replace(/sha256:<[^>]+>/, `sha256:${'0'.repeat(64)}`));
    const lint = await helm(['lint', '--strict', '.', '-f', file]);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    await configCheck('docs', file);
  });

  it('every key of values.config reaches the configuration file, with the chart-owned keys filled in', async () => {
    const manifests = await renderChart([VALUES.production]);
    const values = rec(rec(parseYaml(await readFile(path.join(CHART_DIR, VALUES.production), 'utf8'))).config);
    const rendered = brokerConfig(manifests);
    const server = rec(rendered.server);
    expect({ host: server.host, port: server.port }).toEqual({ host: '0.0.0.0', port: 5001 });
    expect(rendered.dataDir).toBe('/var/lib/portcullis');
    expect(rec(rendered.policy).file).toBe('/etc/portcullis/policy/policy.yaml');
    expect((rec(rendered.keys).signing as Rec[])[0]).toEqual({
      id: 'primary',
      alg: 'ES256',
      privateKey: { file: '/etc/portcullis/keys/signing-key.pem' },
      certificateFile: '/etc/portcullis/keys/signing-key.crt',
    });
    // Take the chart's keys away again: what is left is exactly values.config.
    const { dataDir: _d, ...rest } = rendered;
    const { host: _h, port: _p, ...serverRest } = server;
    const { file: _f, ...policyRest } = rec(rendered.policy);
    const { signing: _s, ...keysRest } = rec(rendered.keys);
    expect({ ...rest, server: serverRest, policy: policyRest, keys: keysRest }).toEqual(values);
    // The production values exercise every section of the configuration schema but the development issuer.
    expect(Object.keys(configSchema.shape).filter((k) => !(k in rendered))).toEqual(['devIssuer']);
  });

  it('a misspelt or invalid configuration key is refused at render time by values.schema.json', async () => {
    for (const [set, message] of [
      ['config.sessions.rateLimit.enabled=false', /additional properties 'rateLimit' not allowed/],
      ['config.store.type=etcd', /config\/store/],
      ['config.token.lifetime=5', /minimum|>= 60/],
    ] as const) {
      const result = await helm(['template', 'portcullis', '.', '-f', VALUES.default, '--set', set]);
      expect(result.code, set).not.toBe(0);
      expect(result.stderr, set).toMatch(message);
    }
  });

  it('refuses settings that cannot work, naming the value to change', async () => {
    for (const [args, message] of [
      [['--set', 'config.server.publicUrl='], /config.server.publicUrl is required/],
      [['--set', 'replicaCount=2'], /requires config.store.type=redis/],
      [['--set', 'signingKey.existingSecret='], /signingKey.existingSecret is required/],
      [['--set', 'config.keys.kidMode=x5c', '--set', 'signingKey.certName='], /x5c requires signingKey.certName/],
      [['--set', 'serviceMonitor.enabled=true', '--set', 'config.metrics.enabled=false'], /needs config.metrics.enabled/],
    ] as const) {
      const result = await helm(['template', 'portcullis', '.', '-f', VALUES.default, ...args]);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('a policy change does not change checksum/config (no restart); a configuration change does', async () => {
    const base = podAnnotations(await renderChart([VALUES.default]))['checksum/config'];
    const newPolicy = podAnnotations(await renderChart([VALUES.default], ['--set-string', 'policy.document=version: 1\nrules: []\n# edited\n']));
    const newConfig = podAnnotations(await renderChart([VALUES.default], ['--set', 'config.log.level=debug']));
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(newPolicy['checksum/config']).toBe(base);
    expect(newConfig['checksum/config']).not.toBe(base);
  });

  it('mounts the policy ConfigMap as a directory, so ConfigMap updates reach the running pod', async () => {
    for (const [file, configMap] of [
      [VALUES.default, 'portcullis-policy'],
      [VALUES.failClosed, 'team-registry-policy'],
    ] as const) {
      const manifests = await renderChart([file]);
      const mount = (container(manifests).volumeMounts as Rec[]).find((m) => m.name === 'policy');
      expect(mount).toEqual({ name: 'policy', mountPath: '/etc/portcullis/policy', readOnly: true });
      const volume = (podSpec(manifests).volumes as Rec[]).find((v) => v.name === 'policy');
      expect(rec(volume?.configMap).name).toBe(configMap);
      expect(manifests.some((m) => m.kind === 'ConfigMap' && m.metadata.name === 'portcullis-policy')).toBe(file === VALUES.default);
    }
  });

  it('readiness follows /healthz while GET /token works without Redis, /readyz when rate limits fail closed', async () => {
    const path = async (file: string) => rec(rec(container(await renderChart([file])).readinessProbe).httpGet).path;
    expect(await path(VALUES.default)).toBe('/healthz');
    expect(await path(VALUES.production)).toBe('/healthz');
    expect(await path(VALUES.failClosed)).toBe('/readyz');
    const singleUse = await renderChart([VALUES.production], ['--set', 'config.sessions.idTokens.singleUse=true']);
    expect(rec(rec(container(singleUse).readinessProbe).httpGet).path).toBe('/readyz');
    const forced = await renderChart([VALUES.default], ['--set', 'readiness.path=/readyz']);
    expect(rec(rec(container(forced).readinessProbe).httpGet).path).toBe('/readyz');
  });

  it('production values: image by digest, extra env, volumes and mounts, security contexts, spread, Ingress with TLS, ServiceMonitor, NetworkPolicy', async () => {
    const manifests = await renderChart([VALUES.production]);
    const c = container(manifests);
    const pod = podSpec(manifests);
    expect(c.image).toBe('ghcr.io/example/portcullis@sha256:0000000000000000000000000000000000000000000000000000000000000000');
    expect(c.env).toEqual([{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis', key: 'password' } } }]);
    expect((c.volumeMounts as Rec[]).map((m) => m.name)).toEqual(expect.arrayContaining(['redis-ca', 'admin-token']));
    expect((pod.volumes as Rec[]).map((v) => v.name)).toEqual(expect.arrayContaining(['redis-ca', 'admin-token']));
    expect(rec(pod.securityContext).runAsUser).toBe(20000);
    expect(rec(c.securityContext)).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'portcullis', 'app.kubernetes.io/instance': 'portcullis' } },
      },
    ]);

    const ingress = rec(manifestOf(manifests, 'Ingress').spec);
    expect(ingress.ingressClassName).toBe('nginx');
    expect(ingress.tls).toEqual([{ secretName: 'auth-example-com-tls', hosts: ['auth.example.com'] }]);
    expect(rec((ingress.rules as Rec[])[0]).host).toBe('auth.example.com');

    const monitor = rec(manifestOf(manifests, 'ServiceMonitor').spec);
    expect(monitor.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
    expect(manifestOf(manifests, 'ServiceMonitor').metadata.labels).toMatchObject({ release: 'prometheus' });

    const netpol = rec(manifestOf(manifests, 'NetworkPolicy').spec);
    expect(netpol.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(rec((netpol.ingress as Rec[])[0]).ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    const egress = netpol.egress as Rec[];
    expect(egress.map((r) => r.ports)).toEqual([
      [
        { port: 53, protocol: 'UDP' },
        { port: 53, protocol: 'TCP' },
      ],
      [{ port: 6380, protocol: 'TCP' }],
      [{ port: 443, protocol: 'TCP' }],
    ]);
    expect(rec(egress[1]).to).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }]);
    expect(manifestOf(manifests, 'PodDisruptionBudget')).toBeDefined();
  });

  it('default values render no optional objects and keep the hardened defaults', async () => {
    const manifests = await renderChart([VALUES.default]);
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
    const pod = podSpec(manifests);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(container(manifests).image).toBe('portcullis:0.1.0');
  });
});
