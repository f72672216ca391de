import { mkdtemp, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPolicyFile, PolicyError, PolicyHolder, type ReloadResult } from '../../../src/policy/index.js';
import { identity, request } from './helpers.js';

const ISS = 'https://issuer.example';
const policyText = (repo: string): string =>
  `version: 1\nrules:\n  - id: r\n    effect: allow\n    issuer: ${ISS}\n    grants: [{ repository: "${repo}", actions: [pull] }]\n`;
const pulls = (h: PolicyHolder, repo: string): boolean =>
  h.current.evaluate(request(identity({}, ISS), [`repository:${repo}:pull`])).access[0]?.actions.length === 1;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-policy-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PolicyHolder', () => {
  it('reloads atomically and keeps the last good policy on errors', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyText('a/**'));
    const h = await PolicyHolder.create({ path: file });
    const v1 = h.version;
    expect(pulls(h, 'a/x')).toBe(true);

    await writeFile(file, policyText('b/**'));
    const ok = await h.reload();
    expect(ok).toMatchObject({ ok: true, changed: true });
    expect(h.version).not.toBe(v1);
    expect(pulls(h, 'a/x')).toBe(false);
    expect(pulls(h, 'b/x')).toBe(true);

    const v2 = h.version;
    await writeFile(file, 'version: 1\nrules: [ { id: broken');
    const bad = await h.reload();
    expect(bad.ok).toBe(false);
    expect(bad.version).toBe(v2);
    expect(pulls(h, 'b/x')).toBe(true);

    await writeFile(file, policyText('b/**'));
    expect(await h.reload()).toMatchObject({ ok: true, changed: false, version: v2 });
  });

  it('refuses policies with lint errors (unpinned shared issuer) unless told otherwise', async () => {
    const file = join(dir, 'policy.yaml');
    const open = 'version: 1\nrules:\n  - id: open\n    effect: allow\n    provider: github-actions\n    grants: [{ repository: "a/**", actions: [push] }]\n';
    await writeFile(file, open);
    await expect(PolicyHolder.create({ path: file })).rejects.toThrow(/shared-issuer-unpinned/);
    const h = await PolicyHolder.create({ path: file, rejectLintErrors: false });
    expect(h.current.rules).toHaveLength(1);
  });

  it('fails to start on a missing or invalid file', async () => {
    await expect(PolicyHolder.create({ path: join(dir, 'missing.yaml') })).rejects.toThrow();
    const file = join(dir, 'p.yaml');
    await writeFile(file, 'version: 2\nrules: []\n');
    await expect(PolicyHolder.create({ path: file })).rejects.toBeInstanceOf(PolicyError);
  });

  it('watch() reloads after the file is replaced (rename, as editors and ConfigMaps do)', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyText('a/**'));
    const results: ReloadResult[] = [];
    let notify: () => void = () => {};
    const reloaded = new Promise<void>((resolve) => (notify = resolve));
    const h = await PolicyHolder.create({
      path: file,
      debounceMs: 30,
      onReload: (r) => {
        results.push(r);
        if (r.ok && r.changed) notify();
      },
    });
    const stop = await h.watch();
    try {
      await writeFile(join(dir, 'tmp.yaml.new'), policyText('c/**'));
      await rename(join(dir, 'tmp.yaml.new'), file);
      await reloaded;
      expect(pulls(h, 'c/x')).toBe(true);
    } finally {
      stop();
    }
  });
});

describe('policy directories', () => {
  it('concatenates *.yaml files in name order and reports errors per file', async () => {
    const pdir = join(dir, 'policies');
    await mkdir(pdir);
    await writeFile(join(pdir, 'a.yaml'), policyText('a/**'));
    await writeFile(join(pdir, 'b.yml'), policyText('b/**').replace('id: r', 'id: s'));
    await writeFile(join(pdir, 'notes.txt'), 'ignored');
    const p = await loadPolicyFile(pdir);
    expect(p.rules.map((r) => r.id)).toEqual(['r', 's']);

    await writeFile(join(pdir, 'b.yml'), policyText('B/**').replace('id: r', 'id: s'));
    await expect(loadPolicyFile(pdir)).rejects.toThrow('b.yml: rules[0].grants[0].repository');
    await writeFile(join(pdir, 'b.yml'), policyText('b/**'));
    await expect(loadPolicyFile(pdir)).rejects.toThrow('b.yml: rules[0].id: duplicate rule id "r"');
  });
});
