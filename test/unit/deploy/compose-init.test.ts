import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { keysCommand } from '../../../src/cli/keys.js';
import { loadConfig } from '../../../src/config/index.js';
import { loadKeyRing } from '../../../src/broker/keys.js';
import { COMPOSE, get, record, yamlFile } from './files.js';

/**
 * Runs the Compose init script's `portcullis keys …` lines in-process against the
 * Compose broker configuration, with container paths mapped into a temp dir.
 */
describe('Compose init step', () => {
  let dir: string;
  let script: string;
  const map = (s: string): string =>
    s
      .replaceAll('/var/lib/portcullis', join(dir, 'data'))
      .replaceAll('/registry-trust', join(dir, 'trust'))
      .replaceAll('/etc/portcullis', join(dir, 'etc'));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portcullis-deploy-'));
    const services = record(get(yamlFile(join(COMPOSE, 'compose.yaml')), 'services'), 'services');
    script = (get(services, 'portcullis-init.command') as string[]).join('\n');
    const config = record(yamlFile(join(COMPOSE, 'portcullis.yaml')), 'portcullis.yaml');
    await mkdir(join(dir, 'etc'));
    await mkdir(join(dir, 'trust')); // a volume mount point in the container
    await writeFile(join(dir, 'etc', 'portcullis.yaml'), map(stringify(config)));
    await writeFile(join(dir, 'etc', 'policy.yaml'), await readFile(join(COMPOSE, 'policy.yaml')));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(line: string): Promise<string> {
    const vars = { key: /^key=(\S+)$/m.exec(script)?.[1] ?? '', crt: /^crt=(\S+)$/m.exec(script)?.[1] ?? '' };
    const expanded = map(line.replace(/"\$\$(key|crt)"/g, (_m, v: 'key' | 'crt') => vars[v]));
    const argv = expanded.replace(/^\s*node \/app\/dist\/cli\/main\.js keys /, '').trim().split(/\s+/);
    let stdout = '';
    const keys = keysCommand({
      loadKeyRing: async (configPath) => (await loadKeyRing((await loadConfig(configPath)).config)).ring,
      output: { writeOut: (t) => (stdout += t), writeErr: () => undefined },
    });
    keys.exitOverride();
    for (const sub of keys.commands) sub.exitOverride();
    await keys.parseAsync(argv, { from: 'user' });
    return stdout;
  }

  it('generates the key, exports a bundle the configured key ring matches, and shows the libtrust kid', async () => {
    const lines = script.split('\n').filter((l) => l.includes('main.js keys '));
    expect(lines.map((l) => /keys (\w+)/.exec(l)?.[1])).toEqual(['generate', 'export', 'show']);
    const [generate = '', exportLine = '', show = ''] = lines;

    const generated = await run(generate);
    const libtrust = /libtrust-kid: (\S+)/.exec(generated)?.[1];
    expect(libtrust).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);

    await run(exportLine);
    const bundle = await readFile(join(dir, 'trust', 'rootcertbundle.pem'), 'utf8');
    expect(bundle).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    expect(bundle).not.toContain('PRIVATE KEY');

    // The broker's own key ring (what `serve` signs with) uses the key the registry now trusts.
    const { config } = await loadConfig(join(dir, 'etc', 'portcullis.yaml'));
    const { ring } = await loadKeyRing(config);
    expect(ring.active.kid).toBe(libtrust);
    expect(ring.certificateBundle()).toBe(bundle);

    expect(await run(show)).toContain(`kid: ${libtrust}`);
  });

  it('is safe to re-run: the generate step is guarded by a file check', () => {
    expect(script).toMatch(/if \[ ! -f "\$\$key" \]; then\s+node \/app\/dist\/cli\/main\.js keys generate/);
  });
});
