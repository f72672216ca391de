import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile, PolicyError } from '../../../src/policy/index.js';
import { identity, request } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../../src/dev/example-policy.yaml', import.meta.url));
const DEV = 'http://127.0.0.1:5001/dev';

describe('src/dev/example-policy.yaml (embedded defaults)', () => {
  it('grants the dev issuer pull, push, delete under dev/** and the catalog, and nothing else', async () => {
    const p = await loadPolicyFile(EXAMPLE, { issuerAliases: { dev: DEV } });
    const d = p.evaluate(request(identity({}, DEV), ['repository:dev/a/b:*', 'registry:catalog:*', 'repository:prod/a:pull', 'repository:dev:pull']));
    expect(d.access.map((a) => a.actions)).toEqual([['delete', 'pull', 'push'], ['*'], [], []]);
    expect(d.tokenLifetime).toBe(300);
  });

  it('grants nothing to anonymous requests or other issuers', async () => {
    const p = await loadPolicyFile(EXAMPLE, { issuerAliases: { dev: DEV } });
    expect(p.evaluate(request(null, ['repository:dev/a:pull'])).access[0]?.actions).toEqual([]);
    expect(p.evaluate(request(identity({}, 'https://gitlab.com'), ['repository:dev/a:pull'])).access[0]?.actions).toEqual([]);
  });

  it('refuses to compile without the dev alias (fail closed)', async () => {
    await expect(loadPolicyFile(EXAMPLE)).rejects.toBeInstanceOf(PolicyError);
  });
});
