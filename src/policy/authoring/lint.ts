import { formatClaimPath } from '../engine/claim-path.js';
import type { CompiledRule } from '../engine/compiled.js';
import type { CompiledPolicy } from '../engine/compile.js';
import type { ConditionInput, ScalarValue } from '../engine/document.js';
import { formatPath } from '../errors.js';
import type { PresetClaim, ProviderPreset } from '../providers/preset-types.js';
import { builtinPresets } from '../providers/presets.js';

/**
 * Static checks for mistakes that type-check but weaken a policy (the
 * pitfalls in docs/policy.md). Errors should block a deployment or reload;
 * warnings are for a person to judge.
 */

/** Built-in codes; presets add their own (`github-sub-format`, `email-unverified`). */
export type LintCode =
  | 'shared-issuer-unpinned'
  | 'shared-issuer-scoped-by-template'
  | 'overbroad-pattern'
  | 'template-never-valid'
  | 'template-name-claim'
  | 'template-unchecked'
  | 'unknown-claim'
  | 'name-instead-of-id'
  | 'display-claim'
  | 'claim-type-mismatch'
  | 'template-ambiguous'
  | 'deny-template-mutable'
  | 'anonymous-write'
  | 'no-conditions'
  | (string & {});

export interface LintFinding {
  readonly code: LintCode;
  /** The policy rule's id. */
  readonly rule: string;
  /** Key path in the document, e.g. `rules[0].when.repository_owner`. */
  readonly path: string;
  readonly message: string;
}

export interface LintResult {
  readonly errors: LintFinding[];
  readonly warnings: LintFinding[];
}

interface ClaimUse {
  readonly name: string; // canonical path
  readonly condition: ConditionInput;
  readonly at: string;
}

export function lintPolicy(policy: CompiledPolicy, presets: ReadonlyMap<string, ProviderPreset> = builtinPresets()): LintResult {
  const result: LintResult = { errors: [], warnings: [] };
  for (const rule of policy.rules) lintRule(rule, presets, result);
  return result;
}

function lintRule(rule: CompiledRule, presets: ReadonlyMap<string, ProviderPreset>, out: LintResult): void {
  const at = ['rules', rule.index];
  const error = (code: LintCode, path: readonly PropertyKey[], message: string): void => {
    out.errors.push({ code, rule: rule.id, path: formatPath(path), message });
  };
  const warn = (code: LintCode, path: readonly PropertyKey[], message: string): void => {
    out.warnings.push({ code, rule: rule.id, path: formatPath(path), message });
  };

  const preset = rule.preset ?? presetForIssuers(rule.issuers, presets);
  const uses: ClaimUse[] = rule.claimChecks.map((c) => ({ name: formatClaimPath(c.path), condition: c.condition, at: '' }));
  const whenKeys = whenPaths(rule);
  const isAllow = rule.effect === 'allow';
  const writes = rule.grants.some((g) => g.actions.some((a) => a !== 'pull'));

  // Patterns.
  rule.grants.forEach((g, gi) => {
    if (g.kind !== 'repository') return;
    g.matchers.forEach((m, mi) => {
      const path = g.matchers.length === 1 && typeof rule.input.grants[gi]?.repository === 'string' ? [...at, 'grants', gi, 'repository'] : [...at, 'grants', gi, 'repository', mi];
      const bare = m.pattern.replace(/\$\{[^}]*\}/g, 'x');
      if (/^\*+$/.test(bare) || /^\*/.test(bare)) {
        if (isAllow) warn('overbroad-pattern', path, `${JSON.stringify(m.pattern)} matches repositories at the top level or any depth; start patterns with a fixed namespace (team/**)`);
      }
      const ambiguous = ambiguousPlaceholder(m.pattern);
      if (ambiguous !== undefined) {
        error('template-ambiguous', path, `${ambiguous} in ${JSON.stringify(m.pattern)} must fill the rest of its path segment: follow it with "/" or end the pattern there, with no "*" before it in the segment (otherwise the value 12 also reaches 123)`);
      }
      for (const cp of m.claimPaths) {
        const name = formatClaimPath(cp);
        const claim = preset?.claims[name];
        if (!isAllow) {
          // A deny's placeholder that cannot bind stands for `*`; a mutable value also moves with renames.
          if (claim?.kind !== 'id') {
            warn('deny-template-mutable', path, `\${${name}} in a deny is ${claim === undefined ? 'not a known immutable id' : `a mutable ${claim.kind} claim`}: a value that is not a lower-case path component (upper case, missing) makes the placeholder stand for "*", and a renamed value escapes the deny; prefer an immutable id claim`);
          }
          continue;
        }
        if (preset === undefined) {
          warn('template-unchecked', path, `\${${name}} must be a lower-case repository path component or the grant never applies; prefer an immutable id claim`);
          continue;
        }
        if (claim === undefined) {
          warn('unknown-claim', path, `\${${name}} is not a known ${preset.name} claim`);
        } else if ((claim.type !== 'string' && claim.type !== 'number') || claim.containsSlash === true) {
          error('template-never-valid', path, `\${${name}} (${claim.containsSlash === true ? 'contains "/"' : claim.type}) can never be a repository path component: this grant never applies`);
        } else if (claim.kind === 'name' || claim.kind === 'display') {
          warn('template-name-claim', path, `\${${name}} is a mutable name (it may contain upper case and can be re-registered)${claim.idClaim === undefined ? '' : `; use \${${claim.idClaim}}`}`);
        }
      }
    });
  });

  if (rule.anonymous) {
    if (isAllow && writes) warn('anonymous-write', [...at, 'grants'], 'anonymous requests are granted more than pull');
    return;
  }

  // Conditions against the preset's claim catalogue.
  if (preset !== undefined) {
    uses.forEach((u, i) => {
      const path = [...at, 'when', whenKeys[i] ?? i];
      const claim = preset.claims[u.name];
      if (claim === undefined) {
        warn('unknown-claim', path, `${u.name} is not a known ${preset.name} claim (a missing claim fails the condition)`);
        return;
      }
      if (claim.kind === 'display') warn('display-claim', path, `${u.name} is display text that anyone can change: never authorize on it`);
      if (claim.kind === 'name' && claim.idClaim !== undefined && !uses.some((o) => o.name === claim.idClaim)) {
        warn('name-instead-of-id', path, `${u.name} is a name that can be renamed or re-registered; match ${claim.idClaim} instead (or as well)`);
      }
      const mismatch = typeMismatch(u.condition, claim);
      if (mismatch !== undefined) error('claim-type-mismatch', path, `${u.name} is a ${claim.type} claim but the condition compares with ${mismatch}; quote it or set asString: true`);
    });

    for (const check of preset.lint) {
      const report = check.level === 'error' ? error : warn;
      if (check.kind === 'condition-text-contains') {
        uses.forEach((u, i) => {
          if (u.name !== check.claim) return;
          const texts = conditionTexts(u.condition);
          if (texts.length > 0 && texts.every((t) => !t.includes(check.contains))) report(check.code, [...at, 'when', whenKeys[i] ?? i], check.message);
        });
      } else if (uses.some((u) => u.name === check.claim) && !uses.some((u) => u.name === check.requires.claim && requiresValue(u.condition, check.requires.equals))) {
        report(check.code, [...at, 'when'], check.message);
      }
    }
  }

  // A shared issuer needs a tenant pin.
  if (isAllow && preset?.sharedIssuer === true) {
    const pinned = uses.some((u) => preset.tenantClaims.includes(u.name) && isExact(u.condition));
    if (!pinned) {
      const scoped = rule.grants.every((g) => g.kind === 'repository' && g.matchers.every((m) => m.claimPaths.some((p) => preset.tenantClaims.includes(formatClaimPath(p)))));
      if (scoped) {
        warn('shared-issuer-scoped-by-template', at, `every ${preset.name} tenant gets its own namespace through the template; pin ${preset.tenantClaims.join(' or ')} unless that is intended`);
      } else if (rule.input.cel !== undefined) {
        warn('shared-issuer-unpinned', at, `${preset.name}'s issuer is shared by every tenant; the CEL expression cannot be checked for a pin, add ${preset.tenantClaims[0]}: "<id>" to when`);
      } else {
        error('shared-issuer-unpinned', at, `${preset.name}'s issuer is shared by every tenant: pin one of ${preset.tenantClaims.join(', ')} with an exact value`);
      }
    }
  } else if (isAllow && uses.length === 0 && rule.otherChecks.length === 0 && preset !== undefined) {
    warn('no-conditions', at, `no conditions: every token from ${rule.issuers.join(', ')} matches`);
  }
}

function presetForIssuers(issuers: readonly string[], presets: ReadonlyMap<string, ProviderPreset>): ProviderPreset | undefined {
  for (const p of presets.values()) if (issuers.some((i) => p.issuers.includes(i))) return p;
  return undefined;
}

/** The `when` keys (map form) or indexes (list form), in compile order. */
function whenPaths(rule: CompiledRule): (string | number)[] {
  const when = rule.input.when;
  if (when === undefined) return [];
  return Array.isArray(when) ? when.map((_, i) => i) : Object.keys(when);
}

const PLACEHOLDER_RE = /\$\{([^}]*)\}/g;

/** The first placeholder that does not end its path segment, or has a `*` before it in the segment. */
function ambiguousPlaceholder(pattern: string): string | undefined {
  for (const m of pattern.matchAll(PLACEHOLDER_RE)) {
    const after = pattern[m.index + m[0].length];
    const segmentStart = pattern.lastIndexOf('/', m.index) + 1;
    const before = pattern.slice(segmentStart, m.index).replace(PLACEHOLDER_RE, '');
    if ((after !== undefined && after !== '/') || before.includes('*')) return m[0];
  }
  return undefined;
}

/** True when the condition requires exactly `value` (a bare value or `equals`, type-strict). */
function requiresValue(c: ConditionInput, value: ScalarValue): boolean {
  if (typeof c !== 'object') return c === value;
  return c.equals === value && c.asString !== true;
}

function isExact(c: ConditionInput): boolean {
  if (typeof c !== 'object') return true;
  return c.equals !== undefined || c.oneOf !== undefined;
}

function conditionTexts(c: ConditionInput): string[] {
  if (typeof c !== 'object') return typeof c === 'string' ? [c] : [];
  return [
    ...(typeof c.equals === 'string' ? [c.equals] : []),
    ...(c.oneOf ?? []).filter((v): v is string => typeof v === 'string'),
    ...(c.glob === undefined ? [] : [c.glob]),
  ];
}

function typeMismatch(c: ConditionInput, claim: PresetClaim): string | undefined {
  const check = (v: ScalarValue | undefined): string | undefined => {
    if (v === undefined) return undefined;
    const t = typeof v;
    if (claim.type === 'array' || claim.type === 'object') return `a ${t}`;
    return t === claim.type ? undefined : `a ${t} (${JSON.stringify(v)})`;
  };
  if (typeof c !== 'object') return check(c);
  if (c.asString === true || c.any !== undefined || c.all !== undefined) return undefined;
  return check(c.equals) ?? c.oneOf?.map(check).find((m) => m !== undefined);
}
