import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lintPolicy, loadPolicyFile, parsePolicy, type LintResult } from '../../../src/policy/index.js';

function lint(rules: string): LintResult {
  return lintPolicy(parsePolicy(`version: 1\nrules:\n${rules}`));
}
const codes = (r: LintResult): { errors: string[]; warnings: string[] } => ({
  errors: r.errors.map((f) => `${f.code}@${f.path}`),
  warnings: r.warnings.map((f) => `${f.code}@${f.path}`),
});

describe('lintPolicy', () => {
  it('a well-pinned GitHub rule is clean', () => {
    const r = lint(`
  - id: ok
    effect: allow
    provider: github-actions
    when: { repository_owner_id: "65", repository_id: "74", ref: refs/heads/main }
    grants: [{ repository: "acme/\${repository_id}/**", actions: [pull, push] }]
`);
    expect(codes(r)).toEqual({ errors: [], warnings: [] });
  });

  it('errors on a shared issuer without a tenant pin, also when the issuer is given without a provider', () => {
    const viaProvider = lint(`
  - id: open
    effect: allow
    provider: github-actions
    when: { ref: refs/heads/main }
    grants: [{ repository: "acme/**", actions: [push] }]
`);
    expect(codes(viaProvider).errors).toEqual(['shared-issuer-unpinned@rules[0]']);
    const viaIssuer = lint(`
  - id: open
    effect: allow
    issuer: https://gitlab.com
    when: { namespace_id: { glob: "7*" } }
    grants: [{ repository: "acme/**", actions: [push] }]
`);
    expect(codes(viaIssuer).errors).toEqual(['shared-issuer-unpinned@rules[0]']);
  });

  it('only warns when the tenant id scopes every grant through a template', () => {
    const r = lint(`
  - id: per-tenant
    effect: allow
    provider: github-actions
    grants: [{ repository: "ci/\${repository_owner_id}/**", actions: [push] }]
`);
    expect(codes(r)).toEqual({ errors: [], warnings: ['shared-issuer-scoped-by-template@rules[0]'] });
  });

  it('flags overbroad patterns, names instead of ids, display claims, unknown claims and type mismatches', () => {
    const r = lint(`
  - id: sloppy
    effect: allow
    provider: github-actions
    when:
      repository_id: 74
      repository_owner: acme
      workflow: build
      repo_owner: acme
    grants: [{ repository: "**", actions: ["*"] }]
`);
    expect(codes(r).errors).toEqual(['claim-type-mismatch@rules[0].when.repository_id']);
    expect(codes(r).warnings).toEqual([
      'overbroad-pattern@rules[0].grants[0].repository',
      'name-instead-of-id@rules[0].when.repository_owner',
      'display-claim@rules[0].when.workflow',
      'unknown-claim@rules[0].when.repo_owner',
    ]);
    expect(r.errors[0]?.message).toContain('quote it');
  });

  it('errors on templates that can never produce a path component, warns on name templates', () => {
    const r = lint(`
  - id: t
    effect: allow
    provider: github-actions
    when: { repository_owner_id: "65" }
    grants:
      - repository: "ci/\${repository}"
        actions: [push]
      - repository: ["ci/\${repository_owner}/x", "ci/\${nope}/y"]
        actions: [push]
`);
    expect(codes(r).errors).toEqual(['template-never-valid@rules[0].grants[0].repository']);
    expect(codes(r).warnings).toEqual(['template-name-claim@rules[0].grants[1].repository[0]', 'unknown-claim@rules[0].grants[1].repository[1]']);
  });

  it('warns on GitHub sub conditions that miss the immutable format', () => {
    const r = lint(`
  - id: s
    effect: allow
    provider: github-actions
    when: { repository_owner_id: "65", sub: "repo:acme/app:ref:refs/heads/main" }
    grants: [{ repository: "acme/app", actions: [push] }]
`);
    expect(codes(r).warnings).toEqual(['github-sub-format@rules[0].when.sub']);
  });

  it('requires email_verified for Google email matches', () => {
    const bad = lint(`
  - id: g
    effect: allow
    provider: google
    when: { email: ci@acme.example }
    grants: [{ repository: "acme/**", actions: [pull] }]
`);
    expect(codes(bad).errors).toEqual(['email-unverified@rules[0].when']);
    const good = lint(`
  - id: g
    effect: allow
    provider: google
    when: { email: ci@acme.example, email_verified: true }
    grants: [{ repository: "acme/**", actions: [pull] }]
`);
    expect(codes(good).errors).toEqual([]);
  });

  it('warns when anonymous requests may write', () => {
    const r = lint(`
  - id: a
    effect: allow
    anonymous: true
    grants: [{ repository: "public/**", actions: [pull, push] }]
`);
    expect(codes(r).warnings).toEqual(['anonymous-write@rules[0].grants']);
  });

  it('the example policy lints clean', async () => {
    const p = await loadPolicyFile(fileURLToPath(new URL('../../../src/dev/example-policy.yaml', import.meta.url)), { unresolvedAliases: 'placeholder' });
    expect(codes(lintPolicy(p))).toEqual({ errors: [], warnings: [] });
  });
});
