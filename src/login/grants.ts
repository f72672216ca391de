import type { Identity } from '../identity/index.js';
import { parseClaimPath, resolveClaim, type CompiledPolicy } from '../policy/index.js';
import type { ResourceScope } from '../registry/index.js';

/** What the policy lets a person do, per action, as repository patterns. */
export interface GrantSummary {
  /** e.g. [{ action: 'pull', patterns: ['team/*', 'team/web/*'] }, { action: 'push', patterns: ['team/web/*'] }] */
  readonly byAction: readonly { readonly action: string; readonly patterns: readonly string[] }[];
  readonly catalog: boolean;
  /** Allow rules that apply to the person. */
  readonly rules: readonly string[];
}

const ACTIONS = ['pull', 'push', 'delete'] as const;
const MAX_PATTERNS = 64;
const PLACEHOLDER_RE = /\$\{([^}]*)\}/g;

/** A grant pattern with the person's claim values filled in; undefined when a value is missing or not a plain word. */
function render(pattern: string, claims: Readonly<Record<string, unknown>>): string | undefined {
  let ok = true;
  const out = pattern.replace(PLACEHOLDER_RE, (_m, inner: string) => {
    const value = inner === '' ? undefined : resolveClaim(claims, parseClaimPath(inner));
    if ((typeof value === 'string' && value !== '') || typeof value === 'number') return String(value);
    ok = false;
    return '';
  });
  return ok ? out : undefined;
}

/**
 * The catalogue of the policy's grant patterns that concern this person (from the
 * allow rules that apply to them), each evaluated by the real policy so deny rules
 * and template bindings count: "you may pull team/* and push team/web/*".
 */
export function summarizeGrants(policy: CompiledPolicy, identity: Identity, service: string): GrantSummary {
  const base = policy.evaluate({ identity, scopes: [], service });
  const applying = new Set(base.applyingRules ?? []);
  const patterns = new Set<string>();
  let catalogGranted = false;
  for (const rule of policy.rules) {
    if (rule.effect !== 'allow' || !applying.has(rule.id)) continue;
    for (const grant of rule.input.grants) {
      if (grant.registry !== undefined) catalogGranted = true;
      const list = grant.repository === undefined ? [] : Array.isArray(grant.repository) ? grant.repository : [grant.repository];
      for (const p of list) {
        const rendered = render(p, identity.claims);
        if (rendered !== undefined && patterns.size < MAX_PATTERNS) patterns.add(rendered);
      }
    }
  }
  const scopes: ResourceScope[] = [...patterns].map((name) => ({ type: 'repository', name, actions: [...ACTIONS] }));
  if (catalogGranted) scopes.push({ type: 'registry', name: 'catalog', actions: ['*'] });
  const decision = scopes.length === 0 ? base : policy.evaluate({ identity, scopes, service });
  const byAction = ACTIONS.map((action) => ({
    action,
    patterns: decision.access.filter((a) => a.type === 'repository' && (a.actions.includes(action) || a.actions.includes('*'))).map((a) => a.name),
  })).filter((g) => g.patterns.length > 0);
  const catalog = decision.access.some((a) => a.type === 'registry' && a.name === 'catalog' && a.actions.length > 0);
  return { byAction, catalog, rules: [...applying] };
}

/** "You may pull team/* and team/web/*, and push team/web/*." */
export function describeGrants(summary: GrantSummary): string {
  const parts = summary.byAction.map((g) => `${g.action} ${joinWords(g.patterns)}`);
  if (summary.catalog) parts.push('list the registry catalog');
  return parts.length === 0 ? 'The trust policy grants you nothing on this registry yet.' : `You may ${joinWords(parts, ', and ')}.`;
}

function joinWords(words: readonly string[], last = ' and '): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')}${last}${words[words.length - 1]}`;
}
