/**
 * A policy mounted from a Kubernetes ConfigMap is updated the way the kubelet's
 * atomic writer does it: the files live in a timestamped directory, `..data`
 * is a symlink to it and `policy.yaml` a symlink through `..data`. An update
 * writes a new directory, points `..data_tmp` at it and renames `..data_tmp`
 * over `..data`; `policy.yaml` itself never changes. The broker's watch must
 * reload on that swap, and keep the last good policy when the new one is bad.
 */
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PolicyHolder, type ReloadResult } from '../../../src/policy/index.js';
import { identity, request } from '../../unit/policy/helpers.js';

const ISS = 'https://issuer.example';
const pulls = (h: PolicyHolder, repo: string): boolean =>
  h.current.evaluate(request(identity({}, ISS), [`repository:${repo}:pull`])).access[0]?.actions.length === 1;
const policyText = (repo: string): string =>
  `version: 1\nrules:\n  - id: r\n    effect: allow\n    issuer: ${ISS}\n    grants: [{ repository: "${repo}", actions: [pull] }]\n`;

/** The kubelet's AtomicWriter, reduced to what a watch can observe. */
class ConfigMapVolume {
  #generation = 0;
  #current: string | undefined;
  constructor(readonly dir: string) {}

  async write(files: Record<string, string>): Promise<void> {
    this.#generation += 1;
    const versioned = `..2026_12_01_00_00_${String(this.#generation).padStart(2, '0')}.${process.pid}`;
    await mkdir(join(this.dir, versioned));
    for (const [name, content] of Object.entries(files)) await writeFile(join(this.dir, versioned, name), content);
    await symlink(versioned, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      await symlink(join('..data', name), join(this.dir, name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    }
    if (this.#current) await rm(join(this.dir, this.#current), { recursive: true });
    this.#current = versioned;
  }
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

let dir: string;
let holder: PolicyHolder | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-configmap-'));
});
afterEach(async () => {
  holder?.close();
  holder = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('policy watch on a ConfigMap volume', () => {
  it('reloads when the kubelet swaps ..data, and keeps the last good policy on a bad update', async () => {
    const volume = new ConfigMapVolume(dir);
    await volume.write({ 'policy.yaml': policyText('a/**') });
    const results: ReloadResult[] = [];
    holder = await PolicyHolder.create({ path: join(dir, 'policy.yaml'), debounceMs: 50, onReload: (r) => results.push(r) });
    await holder.watch();
    const first = holder.version;

    await volume.write({ 'policy.yaml': policyText('b/**') });
    const reloaded = await until('a reload after the swap', () => results.find((r) => r.ok && r.changed));
    expect(reloaded.version).not.toBe(first);
    expect(holder.version).toBe(reloaded.version);
    expect(pulls(holder, 'b/x')).toBe(true);
    expect(pulls(holder, 'a/x')).toBe(false);

    const good = holder.version;
    await volume.write({ 'policy.yaml': 'version: 1\nrules: [ { id: broken' });
    await until('a failed reload', () => results.find((r) => !r.ok));
    expect(holder.version).toBe(good);
    expect(pulls(holder, 'b/x')).toBe(true);
  });
});
