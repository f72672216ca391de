import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { identityFromClaims, lintPolicy, parsePolicy } from '../../../src/policy/index.js';
import { parseScopes } from '../../../src/registry/index.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/policy.md', import.meta.url)), 'utf8');
const policies = [...doc.matchAll(/```yaml\n(version: 1\n[^]*?)```/g)].map((m) => m[1] as string);

describe('docs/policy.md', () => {
  it('has the cookbook policies', () => {
    expect(policies.length).toBeGreaterThanOrEqual(8);
  });
  policies.forEach((text, i) => {
    const id = /- id: (\S+)/.exec(text)?.[1] ?? String(i);
    it(`policy ${id} compiles and lints without errors`, () => {
      const p = parsePolicy(text);
      expect(lintPolicy(p).errors).toEqual([]);
    });
  });
});

describe('docs/policy.md cookbook claims', () => {
  // The "Claims: {…}" line after each cookbook policy must get push on the scope the text names.
  const claims = [...doc.matchAll(/Claims(?: for `explain`)?: `(\{.*?\})`/g)].map((m) => JSON.parse((m[1] as string).replace('…', 'x')) as Record<string, unknown>);
  const scopes = ['repository:acme/74/app:push', 'repository:group-72/20/app:push', 'repository:acme/web/x:push', 'repository:acme/web/x:push', 'repository:platform/x:push'];

  it('pairs with the cookbook policies', () => {
    expect(claims).toHaveLength(scopes.length);
  });
  claims.forEach((c, i) => {
    it(`example ${i + 1} grants push as described`, () => {
      // policies[0] is the document overview; the cookbook starts at policies[1].
      const p = parsePolicy(policies[i + 1] as string);
      const d = p.evaluate({ identity: identityFromClaims(c), scopes: parseScopes([scopes[i] as string]), service: 'registry.acme.test' });
      expect(d.access[0]?.actions).toEqual(['push']);
    });
  });

  it('a GitHub pull_request with the same claims only pulls', () => {
    const p = parsePolicy(policies[1] as string);
    const d = p.evaluate({ identity: identityFromClaims({ ...claims[0], event_name: 'pull_request' }), scopes: parseScopes(['repository:acme/74/app:pull,push']), service: 's' });
    expect(d.access[0]?.actions).toEqual(['pull']);
  });
});
