import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../../src/config/index.js';
import { parsePolicy } from '../../../src/policy/index.js';
import { publicUrlOf } from '../../../src/broker/build.js';
import { CHART, COMPOSE, DEPLOY, REPO, allYamlErrors, get, record, rel, text, walk, yamlFile } from './files.js';

const templatesDir = join(CHART, 'templates');
const isTemplate = (p: string): boolean => p.startsWith(templatesDir);

describe('YAML under deploy/', () => {
  const files = walk(DEPLOY).filter((p) => /\.ya?ml$/.test(p) && !isTemplate(p));

  it('finds the files it is meant to check', () => {
    expect(files.map(rel).sort()).toEqual(
      expect.arrayContaining([
        'deploy/compose/compose.yaml',
        'deploy/compose/policy.yaml',
        'deploy/compose/portcullis.yaml',
        'deploy/compose/registry.yml',
        'deploy/helm/portcullis/Chart.yaml',
        'deploy/helm/portcullis/values.yaml',
      ]),
    );
  });

  it.each(files.map((f) => [rel(f), f]))('%s parses without errors or duplicate keys', (_name, file) => {
    expect(allYamlErrors(file)).toEqual([]);
  });
});

describe('Compose stack', () => {
  const compose = record(yamlFile(join(COMPOSE, 'compose.yaml')), 'compose.yaml');
  const services = record(compose.services, 'services');
  const brokerFile = yamlFile(join(COMPOSE, 'portcullis.yaml'));
  const config = parseConfig(brokerFile, COMPOSE);
  const registry = yamlFile(join(COMPOSE, 'registry.yml'));

  /** "volume:/path[:ro]" entries of a service → [{source, target}]. */
  const mounts = (service: string): { source: string; target: string }[] =>
    (get(services, `${service}.volumes`) as string[]).map((v) => {
      const [source = '', target = ''] = v.split(':');
      return { source, target };
    });
  /** Which volume (or bind source) holds `path` inside `service`, and the path inside it. */
  const locate = (service: string, path: string): { source: string; inner: string } | undefined => {
    const m = mounts(service)
      .filter((x) => path === x.target || path.startsWith(`${x.target}/`))
      .sort((a, b) => b.target.length - a.target.length)[0];
    return m && { source: m.source, inner: path.slice(m.target.length) };
  };

  it('the broker configuration passes the real config schema', () => {
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.devIssuer.enabled).toBe(true);
    expect(config.store.type).toBe('redis');
  });

  it('the policy compiles against the broker configuration', () => {
    const policy = parsePolicy(text(join(COMPOSE, 'policy.yaml')), { issuerAliases: { dev: `${publicUrlOf(config)}/dev` } });
    expect(policy.version).toBeTruthy();
  });

  it("registry auth.token issuer and service equal the broker's token.issuer and token.services[0], as exact strings", () => {
    expect(get(registry, 'auth.token.issuer')).toBe(config.token.issuer);
    expect(get(registry, 'auth.token.service')).toBe(config.token.services[0]);
  });

  it("the realm is the broker's public token URL, published on the same host port (clients fetch tokens there)", () => {
    const realm = new URL(String(get(registry, 'auth.token.realm')));
    expect(realm.href).toBe(`${publicUrlOf(config)}/token`);
    const ports = get(services, 'portcullis.ports') as string[];
    expect(ports).toContain(`${realm.port}:${config.server.port}`);
    expect(['localhost', '127.0.0.1']).toContain(realm.hostname);
  });

  it('the registry trusts the bundle the init service exports', () => {
    const script = (get(services, 'portcullis-init.command') as string[]).join('\n');
    const out = /keys export --format cert .*--out (\S+)/.exec(script)?.[1];
    expect(out).toBeDefined();
    const bundle = String(get(registry, 'auth.token.rootcertbundle'));
    const written = locate('portcullis-init', out as string);
    const read = locate('registry', bundle);
    expect(written).toBeDefined();
    expect(read).toEqual(written);
    expect(mounts('registry').find((m) => m.source === read?.source)).toBeDefined();
  });

  it('the broker reads the key files the init service creates, from the same volume', () => {
    const script = (get(services, 'portcullis-init.command') as string[]).join('\n');
    const key = /^key=(\S+)$/m.exec(script)?.[1];
    const crt = /^crt=(\S+)$/m.exec(script)?.[1];
    const signing = config.keys.signing?.[0];
    const keyFile = signing && 'file' in signing.privateKey ? signing.privateKey.file : undefined;
    expect(keyFile).toBe(key);
    expect(signing?.certificateFile).toBe(crt);
    expect(locate('portcullis', key as string)).toEqual(locate('portcullis-init', key as string));
    expect(locate('portcullis', config.dataDir)?.source).toBe('portcullis-data');
    // The registry must never see the private key.
    expect(mounts('registry').map((m) => m.source)).not.toContain('portcullis-data');
  });

  it('both broker containers see the configuration and policy at the paths the config names', () => {
    for (const service of ['portcullis', 'portcullis-init']) {
      expect(locate(service, '/etc/portcullis/portcullis.yaml')?.source).toBe('./portcullis.yaml');
      expect(locate(service, config.policy.file as string)?.source).toBe('./policy.yaml');
    }
  });

  it('the Redis URL names the redis service', () => {
    expect(config.store.type === 'redis' && config.store.url).toMatch(/^redis:\/\/redis:6379(\/|$)/);
    expect(services.redis).toBeDefined();
  });
});

describe('Dockerfile', () => {
  const dockerfile = text(join(DEPLOY, 'Dockerfile'));
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('runs the CLI as uid 10001 with the documented entrypoint, command, configuration path and port', () => {
    expect(runtime).toMatch(/^USER 10001:10001$/m);
    expect(runtime).toContain('ENTRYPOINT ["node", "/app/dist/cli/main.js"]');
    expect(runtime).toContain('CMD ["serve"]');
    expect(runtime).toMatch(/PORTCULLIS_CONFIG=\/etc\/portcullis\/portcullis\.yaml/);
    expect(runtime).toMatch(/^EXPOSE 5001$/m);
    expect(runtime).toMatch(/^VOLUME \["\/var\/lib\/portcullis"\]$/m);
    // The health check follows server.port of that configuration (`portcullis health`).
    expect(runtime).toMatch(/^HEALTHCHECK .*\\\n\s+CMD \["node", "\/app\/dist\/cli\/main\.js", "health"\]$/m);
  });

  it('builds on a supported Node LTS pinned by digest, and removes npm from the runtime stage', () => {
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1] ?? '';
    expect(base).toMatch(/^node:(22|24)-bookworm-slim@sha256:[0-9a-f]{64}$/);
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\}/gm)).toHaveLength(2);
    for (const path of ['/usr/local/lib/node_modules/npm', '/usr/local/bin/npm', '/usr/local/bin/npx', '/usr/local/bin/corepack']) {
      expect(runtime, path).toContain(path);
    }
    expect(runtime).toMatch(/^RUN rm -rf \/usr\/local\/lib\/node_modules\/npm/m);
  });

  it('copies from the build context only paths that exist and that .dockerignore lets through', () => {
    const ignore = text(join(REPO, '.dockerignore'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = new Set(ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')));
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(join(REPO, source)), source).toBe(true);
      expect(allowed.has(source), `${source} is excluded by .dockerignore`).toBe(true);
    }
    // The runtime needs dist/ (which carries the presets and the example policy), node_modules and package.json.
    for (const dir of ['dist', 'node_modules', 'package.json']) expect(runtime).toMatch(new RegExp(`^COPY .*${dir}`, 'm'));
  });
});

// The Helm chart is rendered by a real helm binary in test/integration/deploy/helm.test.ts.
describe('Helm chart metadata', () => {
  const chart = record(yamlFile(join(CHART, 'Chart.yaml')), 'Chart.yaml');
  const values = record(yamlFile(join(CHART, 'values.yaml')), 'values.yaml');
  const pkg = record(JSON.parse(text(join(REPO, 'package.json'))), 'package.json');

  it('Chart.yaml is a v2 application chart whose appVersion is the package version', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('portcullis');
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+$/);
    expect(chart.appVersion).toBe(pkg.version);
  });

  it('the default policy in values.yaml compiles', () => {
    expect(() => parsePolicy(String(get(values, 'policy.document')))).not.toThrow();
  });
});

describe('docs/configuration.md', () => {
  it('the annotated example is a valid configuration', () => {
    const doc = text(join(REPO, 'docs', 'configuration.md'));
    const example = /## Annotated example\s+```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const config = parseConfig(yamlFileFromText(example as string), '/');
    expect(config.keys.signing?.[0]?.active).toBe(true);
  });
});

function yamlFileFromText(source: string): unknown {
  return parseYaml(source, { uniqueKeys: true });
}
