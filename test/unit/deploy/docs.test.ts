/**
 * The deployment and CI guides stand alone and their examples work: policy rules
 * compile and lint cleanly, and no page cites pitfall numbers from material
 * outside the repository.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configJsonSchema } from '../../../src/config/index.js';
import { lintPolicy, parsePolicy } from '../../../src/policy/index.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const read = (p: string): string => readFileSync(join(REPO, p), 'utf8');
/** "P1" .. "P24" standing alone (not P-256, not P256). */
const PITFALL = /(?<![\w-])P(?:[1-9]|1\d|2[0-4])(?![\w-])/;

describe('no pitfall numbers', () => {
  const pages = ['README.md', ...readdirSync(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  it.each(pages)('%s explains its points instead of citing pitfall numbers', (page) => {
    const hits = read(page)
      .split('\n')
      .filter((line) => PITFALL.test(line));
    expect(hits).toEqual([]);
  });

  it('configuration descriptions do not cite them either', () => {
    expect(JSON.stringify(configJsonSchema())).not.toMatch(PITFALL);
  });
});

describe('docs/ci.md', () => {
  const doc = read('docs/ci.md');
  const rules = [...doc.matchAll(/```yaml\n(- id: [\s\S]*?)```/g)].map((m) => m[1] as string);

  it('has the GitHub, GitLab and Kubernetes rules', () => {
    expect(rules).toHaveLength(3);
  });
  it.each(rules.map((r) => [/- id: (\S+)/.exec(r)?.[1], r]))('rule %s compiles and lints without errors', (_id, rule) => {
    const policy = parsePolicy(`version: 1\nrules:\n${(rule as string).replace(/^/gm, '  ')}`);
    expect(lintPolicy(policy).errors).toEqual([]);
  });

  it('the GitLab job includes the template with the inputs it declares', () => {
    const template = read('deploy/gitlab/portcullis-login.yml');
    const inputs = Object.keys((parseYaml(template.split('\n---\n')[0] as string) as { spec: { inputs: Record<string, unknown> } }).spec.inputs);
    const job = /```yaml\n(include:[\s\S]*?)```/.exec(doc)?.[1] ?? '';
    const parsed = parseYaml(job) as { include: { inputs: Record<string, string> }[]; 'build-image': { extends: string } };
    for (const name of Object.keys(parsed.include[0]?.inputs ?? {})) expect(inputs).toContain(name);
    expect(parsed['build-image'].extends).toBe('.portcullis-login');
  });
});
