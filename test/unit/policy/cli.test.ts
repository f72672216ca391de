import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyCommand } from '../../../src/cli/policy.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const cmd = policyCommand({ output: { writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) } });
  cmd.exitOverride();
  for (const sub of cmd.commands) sub.exitOverride();
  try {
    await cmd.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const code = typeof (err as { exitCode?: unknown }).exitCode === 'number' ? (err as { exitCode: number }).exitCode : 99;
    return { code, stdout, stderr };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-policy-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('portcullis policy lint', () => {
  it('passes a clean policy and the example policy (aliases become placeholders)', async () => {
    const r = await run(['lint', fixture('github.policy.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 rule(s), 0 error(s), 0 warning(s)');
    expect((await run(['lint', fileURLToPath(new URL('../../../src/dev/example-policy.yaml', import.meta.url))])).code).toBe(0);
  });

  it('exits 1 with the rule id and path on lint errors', async () => {
    const file = join(dir, 'open.yaml');
    await writeFile(file, 'version: 1\nrules:\n  - id: open\n    effect: allow\n    provider: gitlab\n    grants: [{ repository: "a/**", actions: [push] }]\n');
    const r = await run(['lint', file, '--json']);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout) as { errors: { code: string; rule: string; path: string }[] };
    expect(json.errors).toEqual([expect.objectContaining({ code: 'shared-issuer-unpinned', rule: 'open', path: 'rules[0]' })]);
  });

  it('exits 1 on schema errors with the key path', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'version: 1\nrules:\n  - id: r\n    effect: allow\n    issuer: https://x.test\n    grants: [{ repository: a, actions: [pull, write] }]\n');
    const r = await run(['lint', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rules[0].grants[0].actions[1]: expected one of pull, push, delete, *');
  });
});

describe('portcullis policy explain', () => {
  it('shows every rule, every check and the resulting access', async () => {
    const claims = fixture('github.claims.json');
    const r = await run(['explain', '--policy', fixture('github.policy.yaml'), '--claims', claims, '--scope', 'repository:acme/74/app:push', '--scope', 'repository:other/x:pull']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rule acme-build (allow): matched, contributed');
    expect(r.stdout).toContain('pass  repository_owner_id equals "65"');
    expect(r.stdout).toContain('rule acme-read (allow): matched, no effect on the request');
    expect(r.stdout).toContain('  repository:acme/74/app: push');
    expect(r.stdout).toContain('  repository:other/x: (nothing)');
  });

  it('reports failing checks and honours --issuer', async () => {
    const r = await run(['explain', '--policy', fixture('github.policy.yaml'), '--claims', fixture('github.claims.json'), '--issuer', 'https://gitlab.com', '--scope', 'repository:acme/74/app:push', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { decision: { access: { actions: string[] }[] }; trace: { issuer: string; rules: unknown[]; skippedRules: number } };
    expect(json.trace).toMatchObject({ issuer: 'https://gitlab.com', rules: [], skippedRules: 2 });
    expect(json.decision.access[0]?.actions).toEqual([]);
  });

  it('shows failed conditions with FAIL', async () => {
    const file = join(dir, 'claims.json');
    await writeFile(file, JSON.stringify({ iss: 'https://token.actions.githubusercontent.com', repository_owner_id: '65', repository_id: '74', ref: 'refs/heads/dev' }));
    const r = await run(['explain', '--policy', fixture('github.policy.yaml'), '--claims', file, '--scope', 'repository:acme/74/app:push,pull']);
    expect(r.stdout).toContain('FAIL  ref equals "refs/heads/main"');
    expect(r.stdout).toContain('rule acme-build (allow): did not match');
    expect(r.stdout).toContain('  repository:acme/74/app: pull');
  });
});

describe('portcullis policy test', () => {
  it('passes matching cases', async () => {
    const r = await run(['test', fixture('github.cases.yaml'), '--policy', fixture('github.policy.yaml')]);
    expect(r.stdout).toContain('4 passed, 0 failed');
    expect(r.code).toBe(0);
  });

  it('exits non-zero and explains a mismatch', async () => {
    const file = join(dir, 'cases.yaml');
    await writeFile(
      file,
      'cases:\n  - name: wrong\n    claims: { iss: https://token.actions.githubusercontent.com, repository_owner_id: "65", repository_id: "74", ref: refs/heads/main, event_name: push }\n    scopes: ["repository:acme/74/a:push"]\n    expect:\n      access: { "repository:acme/74/a": [] }\n',
    );
    const r = await run(['test', file, '--policy', fixture('github.policy.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL wrong');
    expect(r.stdout).toContain('repository:acme/74/a: expected [], got [push]');
  });
});
