import { ACTIONS_OF, ALL, mergeScopes, type AccessEntry, type ResourceScope } from '../../registry/index.js';
import type { CompiledGrant, CompiledPolicyData, CompiledRule } from './compiled.js';
import type { Check, EvalContext } from './context.js';
import { issuerCandidates, mergeByIndex } from './issuer-index.js';
import { denyCandidates } from './deny-index.js';
import type { Decision, PolicyRequest } from './types.js';
import type { RepositoryMatcher } from './template.js';

/**
 * Evaluation: union of the matching allow rules minus the matching deny rules
 * (deny wins per action; a deny of `*` removes everything), per requested
 * resource, then intersected with the request (`grantFor`). Only rules
 * indexed under the identity's issuer are looked at; anonymous requests see
 * only `anonymous: true` rules. Nothing matches → nothing granted.
 */

export interface CheckTrace {
  readonly label: string;
  readonly result: boolean;
}

export interface RuleTrace {
  readonly id: string;
  readonly effect: 'allow' | 'deny';
  readonly checks: CheckTrace[];
  matched: boolean;
  /** True when the provider's untrusted-event guard held and the rule was limited to pull. */
  untrustedEvent?: boolean;
  /** What the rule allowed or denied on each requested resource ("type:name" → actions). */
  readonly effects: { resource: string; actions: string[] }[];
  /** True when the rule ended up in `matchedRules`. */
  contributed: boolean;
}

export interface DecisionTrace {
  readonly issuer: string | null;
  /** Rules indexed under this issuer (or the anonymous rules), in document order. */
  readonly rules: RuleTrace[];
  /** Rules not looked at because they belong to other issuers. */
  readonly skippedRules: number;
}

type Sources = Map<string, CompiledRule[]>;

interface ResourceState {
  readonly scope: ResourceScope;
  readonly allow: Sources;
  readonly deny: Sources;
}

export function contextOf(request: PolicyRequest): EvalContext {
  return {
    identity: request.identity,
    claims: request.identity?.claims,
    service: request.service,
    clientIp: request.clientIp,
  };
}

/** Rules that can match: the issuer's (narrowed by its claim index), or the anonymous ones. With a trace: all of the issuer's. */
export function candidateRules(policy: CompiledPolicyData, request: PolicyRequest, all = false): readonly CompiledRule[] {
  if (request.identity === null) return policy.anonymousRules;
  const entry = policy.byIssuer.get(request.identity.issuer);
  if (entry === undefined) return [];
  return all ? entry.all : issuerCandidates(entry, request.identity.claims);
}

/** The issuer's unconditional deny rules that can name a requested repository (none when `candidateRules` returned them all). */
function resourceDenies(policy: CompiledPolicyData, request: PolicyRequest, resources: readonly ResourceState[]): readonly CompiledRule[] {
  if (request.identity === null) return NO_RULES;
  const denies = policy.byIssuer.get(request.identity.issuer)?.split?.denies;
  return denies === undefined ? NO_RULES : denyCandidates(denies, resources.map((r) => r.scope));
}
const NO_RULES: readonly CompiledRule[] = [];

export function evaluatePolicy(policy: CompiledPolicyData, request: PolicyRequest, trace?: DecisionTrace): Decision {
  const candidates = candidateRules(policy, request, trace !== undefined);
  const resources: ResourceState[] = mergeScopes(request.scopes).map((scope) => ({ scope, allow: new Map(), deny: new Map() }));
  if (candidates.length === 0) {
    return { access: resources.map((r) => ({ type: r.scope.type, name: r.scope.name, actions: [] })), matchedRules: [], applyingRules: [] };
  }

  const ctx = contextOf(request);
  // Allow rules whose conditions hold, whatever was requested: a session opened by
  // `docker login` (no scope) belongs to them and takes their refreshLifetime.
  const applying: CompiledRule[] = [];
  const ruleTraces = trace === undefined ? undefined : new Map<CompiledRule, RuleTrace>();
  const denies = trace === undefined ? resourceDenies(policy, request, resources) : NO_RULES;
  const considered = denies.length === 0 ? candidates : mergeByIndex(candidates, denies);
  for (const rule of considered) {
    // A deny rule only ever removes actions from resources its grants can name, and never makes
    // a rule "apply": one that names no requested resource is skipped before its conditions run.
    if (rule.effect === 'deny' && trace === undefined && !namesAnyResource(rule, resources)) continue;
    const rt = trace === undefined ? undefined : newRuleTrace(rule);
    if (rt !== undefined) {
      trace?.rules.push(rt);
      ruleTraces?.set(rule, rt);
    }
    if (!ruleMatches(rule, ctx, rt)) continue;
    if (rule.effect === 'allow') applying.push(rule);
    const untrusted = rule.untrustedGuard?.test(ctx) === true;
    if (rt !== undefined && rule.untrustedGuard !== undefined) rt.untrustedEvent = untrusted;
    for (const grant of rule.grants) applyGrant(rule, grant, untrusted, ctx, resources, rt);
  }

  const contributors = new Set<CompiledRule>();
  const access: AccessEntry[] = resources.map((r) => resolveResource(r, contributors));
  const matched = considered.filter((r) => contributors.has(r));
  if (ruleTraces !== undefined) {
    for (const r of matched) {
      const rt = ruleTraces.get(r);
      if (rt !== undefined) rt.contributed = true;
    }
  }

  let tokenLifetime: number | undefined;
  for (const r of matched) {
    if (r.effect === 'allow' && r.tokenLifetime !== undefined) tokenLifetime = Math.min(tokenLifetime ?? Infinity, r.tokenLifetime);
  }
  let refreshLifetime: number | undefined;
  for (const r of applying) {
    if (r.refreshLifetime !== undefined) refreshLifetime = Math.min(refreshLifetime ?? Infinity, r.refreshLifetime);
  }
  return {
    access,
    matchedRules: matched.map((r) => r.id),
    applyingRules: applying.map((r) => r.id),
    ...(tokenLifetime === undefined ? {} : { tokenLifetime }),
    ...(refreshLifetime === undefined ? {} : { refreshLifetime }),
  };
}

function ruleMatches(rule: CompiledRule, ctx: EvalContext, rt: RuleTrace | undefined): boolean {
  if (rt === undefined) {
    const claimChecks = rule.claimChecks;
    for (let i = 0; i < claimChecks.length; i++) if (!(claimChecks[i] as Check).test(ctx)) return false;
    const otherChecks = rule.otherChecks;
    for (let i = 0; i < otherChecks.length; i++) if (!(otherChecks[i] as Check).test(ctx)) return false;
    return true;
  }
  // Explaining: run every check so the trace shows all results, not just the first failure.
  let ok = true;
  for (const c of [...rule.claimChecks, ...rule.otherChecks]) {
    const result = c.test(ctx);
    rt.checks.push({ label: c.label, result });
    ok &&= result;
  }
  rt.matched = ok;
  return ok;
}

function applyGrant(
  rule: CompiledRule,
  grant: CompiledGrant,
  untrusted: boolean,
  ctx: EvalContext,
  resources: readonly ResourceState[],
  rt: RuleTrace | undefined,
): void {
  let actions = grant.actions;
  if (untrusted && rule.effect === 'allow') {
    // Untrusted events (pull requests) may read, never write.
    if (grant.kind === 'catalog') return;
    actions = actions.includes(ALL) || actions.includes('pull') ? ['pull'] : [];
    if (actions.length === 0) return;
  }
  if (grant.kind === 'catalog') {
    for (const r of resources) if (r.scope.type === 'registry' && r.scope.name === 'catalog') record(rule, r, actions, rt);
    return;
  }
  if (!anyNameHasPrefix(grant, resources)) return;
  // A deny's placeholder that cannot bind stands for `*`: the deny still applies.
  const forDeny = rule.effect === 'deny';
  const matchers = grant.matchers;
  for (const r of resources) {
    if (r.scope.type !== 'repository') continue;
    for (let i = 0; i < matchers.length; i++) {
      if ((matchers[i] as RepositoryMatcher).matches(ctx.claims, r.scope.name, forDeny)) {
        record(rule, r, actions, rt);
        break;
      }
    }
  }
}

/** Can any grant of the rule name any requested resource? Literal prefixes only: a cheap necessary condition. */
function namesAnyResource(rule: CompiledRule, resources: readonly ResourceState[]): boolean {
  for (const grant of rule.grants) {
    if (grant.kind === 'repository') {
      if (anyNameHasPrefix(grant, resources)) return true;
    } else {
      for (const r of resources) if (r.scope.type === 'registry' && r.scope.name === 'catalog') return true;
    }
  }
  return false;
}

/** Cheap reject before binding templates: does any requested repository start with a grant's literal prefix? */
function anyNameHasPrefix(grant: CompiledGrant & { kind: 'repository' }, resources: readonly ResourceState[]): boolean {
  for (let i = 0; i < grant.matchers.length; i++) {
    const prefix = (grant.matchers[i] as { literalPrefix: string }).literalPrefix;
    for (let j = 0; j < resources.length; j++) {
      const scope = (resources[j] as ResourceState).scope;
      if (scope.type === 'repository' && scope.name.startsWith(prefix)) return true;
    }
  }
  return false;
}

function record(rule: CompiledRule, r: ResourceState, actions: readonly string[], rt: RuleTrace | undefined): void {
  const target = rule.effect === 'allow' ? r.allow : r.deny;
  for (const a of actions) {
    const list = target.get(a);
    if (list === undefined) target.set(a, [rule]);
    else if (!list.includes(rule)) list.push(rule);
  }
  if (rt !== undefined) {
    const resource = `${r.scope.type}:${r.scope.name}`;
    const existing = rt.effects.find((e) => e.resource === resource);
    if (existing === undefined) rt.effects.push({ resource, actions: [...actions] });
    else for (const a of actions) if (!existing.actions.includes(a)) existing.actions.push(a);
  }
}

/**
 * Actions that can be granted per resource type: the registry understands
 * pull, push and delete on repositories and only `*` on the catalog. Anything
 * else (an unknown action, another resource type) is never granted, whatever
 * an allow of `*` says.
 */
function grantable(scope: ResourceScope): readonly string[] {
  if (scope.type === 'repository') return REPOSITORY_ACTIONS;
  if (scope.type === 'registry' && scope.name === 'catalog') return CATALOG_ACTIONS;
  return NO_ACTIONS;
}
const REPOSITORY_ACTIONS: readonly string[] = [...(ACTIONS_OF.repository ?? [])].sort();
const CATALOG_ACTIONS: readonly string[] = [ALL];
const NO_ACTIONS: readonly string[] = [];

/** Which actions a resource's rules allowed or denied: the keys of its allow and deny maps. */
type ActionSet = { has(action: string): boolean; readonly size: number };

/**
 * requested ∩ (allowed − denied) for one resource. A request for `*` gets
 * `["*"]` only when an allow of `*` covers the resource and no deny removed
 * anything; otherwise the explicit list. Returns the actions written into the
 * token and the concrete actions they stand for (for `matchedRules`).
 */
function grantFor(scope: ResourceScope, allowed: ActionSet, denied: ActionSet): { actions: string[]; covers: readonly string[] } {
  const known = grantable(scope);
  const allowAll = allowed.has(ALL);
  const denyAll = denied.has(ALL);
  const effective = known.filter((a) => (allowAll || allowed.has(a)) && !denyAll && !denied.has(a));
  if (scope.actions.includes(ALL)) {
    if (allowAll && denied.size === 0 && known.length > 0) return { actions: [ALL], covers: known };
    const explicit = effective.filter((a) => a !== ALL);
    return { actions: explicit, covers: explicit };
  }
  const actions = scope.actions.filter((a) => a !== ALL && effective.includes(a));
  return { actions, covers: actions };
}

const NOTHING: ActionSet = new Set<string>();

function resolveResource(r: ResourceState, contributors: Set<CompiledRule>): AccessEntry {
  const { scope, allow, deny } = r;
  const { actions, covers } = grantFor(scope, allow, deny);

  // Allow rules count when an action they allowed is in the result (also when it is written `*`).
  for (const a of covers) {
    for (const rule of allow.get(a) ?? []) contributors.add(rule);
    for (const rule of allow.get(ALL) ?? []) contributors.add(rule);
  }
  // Deny rules count when they removed an action the request would otherwise have received.
  if (deny.size > 0) {
    const wouldHave = grantFor(scope, allow, NOTHING).covers;
    if (wouldHave.length > 0) {
      for (const [d, rules] of deny) {
        if (d === ALL || wouldHave.includes(d)) for (const rule of rules) contributors.add(rule);
      }
    }
  }
  return { type: scope.type, name: scope.name, actions };
}

function newRuleTrace(rule: CompiledRule): RuleTrace {
  return { id: rule.id, effect: rule.effect, checks: [], matched: false, effects: [], contributed: false };
}


