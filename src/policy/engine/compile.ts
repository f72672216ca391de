import { createHash } from 'node:crypto';
import { compileCel } from './cel.js';
import type { CompiledGrant, CompiledPolicyData, CompiledRule, IssuerRules } from './compiled.js';
import { buildIssuerRules } from './issuer-index.js';
import { compileWhen, type ClaimCheck } from './conditions.js';
import type { Check } from './context.js';
import { PolicyDocument, unsafeKeyIssues, type GrantInput, type PolicyDocumentInput, type RuleInput } from './document.js';
import { PolicyError } from '../errors.js';
import { evaluatePolicy, type DecisionTrace } from './evaluate.js';
import { IssueCollector } from '../issues.js';
import { packed } from './packed.js';
import type { ProviderPreset } from '../providers/preset-types.js';
import { clientIpCheck, serviceCheck } from './request-checks.js';
import { compileRepositoryPattern, type RepositoryMatcher } from './template.js';
import type { Decision, Policy, PolicyRequest } from './types.js';
import { zodIssues } from '../zod-issues.js';
import { formatClaimPath, resolveClaim, type ClaimPath } from './claim-path.js';

export interface CompileOptions {
  /** Where the document came from (a file path), for error messages. */
  readonly source?: string;
  /** `issuer: $name` resolves to `issuerAliases[name]` (e.g. `dev` → the embedded dev issuer URL). */
  readonly issuerAliases?: Readonly<Record<string, string>>;
  /**
   * Unknown `$alias`: `error` (default) refuses the policy; `placeholder` keeps
   * the rule under the literal `$name`, which no real token carries (for lint
   * and tests that run without the server's runtime configuration).
   */
  readonly unresolvedAliases?: 'error' | 'placeholder';
  /**
   * Provider presets by name. Compiling reads no files: the caller hands the presets
   * in (`compilePolicy` from the policy face passes the built-in ones). Without them,
   * a rule naming a provider is refused.
   */
  readonly presets?: ReadonlyMap<string, ProviderPreset>;
}

/** A compiled policy: `evaluate` is the hot path, `explain` the same evaluation with a trace. */
export interface CompiledPolicy extends Policy, CompiledPolicyData {
  readonly source?: string;
  explain(request: PolicyRequest): { decision: Decision; trace: DecisionTrace };
}

const NO_PRESETS: ReadonlyMap<string, ProviderPreset> = new Map();

const ALIAS_RE = /^\$([A-Za-z][A-Za-z0-9_-]*)$/;

/** Validates and compiles a parsed document. Throws PolicyError listing every problem. */
export function compilePolicyDocument(doc: unknown, options: CompileOptions = {}): CompiledPolicy {
  const unsafe = unsafeKeyIssues(doc);
  if (unsafe.length > 0) throw new PolicyError(unsafe, options.source);
  const parsed = PolicyDocument.safeParse(doc);
  if (!parsed.success) throw new PolicyError(zodIssues(parsed.error.issues), options.source);
  const document = parsed.data;

  const issues = new IssueCollector();
  const rules: CompiledRule[] = [];
  document.rules.forEach((input, index) => {
    const rule = compileRule(input, index, options, issues);
    if (rule !== undefined) rules.push(rule);
  });
  if (issues.issues.length > 0) throw new PolicyError(issues.issues, options.source);

  const issuerLists = new Map<string, CompiledRule[]>();
  const anonymousRules: CompiledRule[] = [];
  for (const rule of rules) {
    if (rule.anonymous) anonymousRules.push(rule);
    for (const iss of rule.issuers) {
      const list = issuerLists.get(iss);
      if (list === undefined) issuerLists.set(iss, [rule]);
      else list.push(rule);
    }
  }
  const byIssuer = new Map<string, IssuerRules>();
  for (const [iss, list] of issuerLists) byIssuer.set(iss, buildIssuerRules(list));

  const data: CompiledPolicyData = { document, rules, byIssuer, anonymousRules };
  const version = policyVersion(document, options.issuerAliases);
  return {
    ...data,
    version,
    ...(options.source === undefined ? {} : { source: options.source }),
    evaluate: (request) => evaluatePolicy(data, request),
    explain: (request) => {
      const trace: DecisionTrace = {
        issuer: request.identity?.issuer ?? null,
        rules: [],
        skippedRules: rules.length - (request.identity === null ? anonymousRules.length : (byIssuer.get(request.identity.issuer)?.all.length ?? 0)),
      };
      const decision = evaluatePolicy(data, request, trace);
      return { decision, trace };
    },
  };
}

function compileRule(input: RuleInput, index: number, options: CompileOptions, issues: IssueCollector): CompiledRule | undefined {
  const at = ['rules', index];
  const before = issues.issues.length;

  let preset: ProviderPreset | undefined;
  if (input.provider !== undefined) {
    const presets = options.presets ?? NO_PRESETS;
    preset = presets.get(input.provider);
    if (preset === undefined) {
      const known = [...presets.keys()];
      issues.add([...at, 'provider'], `unknown provider ${JSON.stringify(input.provider)}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`);
    }
  }

  const issuers = resolveIssuers(input, preset, at, options, issues);
  const claimChecks: ClaimCheck[] = input.when === undefined ? [] : compileWhen(input.when, [...at, 'when'], issues);
  const otherChecks: Check[] = [];
  if (input.service !== undefined) otherChecks.push(serviceCheck(toList(input.service)));
  if (input.clientIp !== undefined) {
    const cidrs = toList(input.clientIp);
    const check = issues.attempt([...at, 'clientIp'], () => clientIpCheck(cidrs));
    if (check !== undefined) otherChecks.push(check);
  }
  if (input.cel !== undefined) {
    const expr = input.cel;
    const check = issues.attempt([...at, 'cel'], () => compileCel(expr));
    if (check !== undefined) otherChecks.push(check);
  }
  const grants = input.grants.flatMap((g, i) => compileGrant(g, [...at, 'grants', i], issues));

  // A rule that names a provider's issuer URL instead of `provider:` gets that
  // provider's safe defaults (pull only for pull requests) for that issuer's tokens.
  const presets = options.presets ?? NO_PRESETS;
  const inferred = preset === undefined && input.anonymous !== true ? inferPresets(issuers, presets) : new Map<string, ProviderPreset>();
  if (preset === undefined && new Set(inferred.values()).size === 1) preset = [...inferred.values()][0];
  const untrustedGuard = input.effect === 'allow' && input.allowUntrustedEvents !== true ? untrustedEventGuard(input.provider === undefined ? inferred : preset, issuers) : undefined;

  if (issues.issues.length > before) return undefined;
  return {
    id: input.id,
    index,
    effect: input.effect,
    input,
    issuers,
    anonymous: input.anonymous === true,
    ...(preset === undefined ? {} : { preset }),
    claimChecks,
    otherChecks: packed(otherChecks),
    ...(untrustedGuard === undefined ? {} : { untrustedGuard }),
    grants: packed(grants),
    ...(input.tokenLifetime === undefined ? {} : { tokenLifetime: input.tokenLifetime }),
    ...(input.refreshLifetime === undefined ? {} : { refreshLifetime: input.refreshLifetime }),
  };
}

/** The presets whose issuer the rule names, by issuer. */
function inferPresets(issuers: readonly string[], presets: ReadonlyMap<string, ProviderPreset>): Map<string, ProviderPreset> {
  const out = new Map<string, ProviderPreset>();
  for (const iss of issuers) {
    const p = [...presets.values()].find((candidate) => candidate.issuers.includes(iss));
    if (p !== undefined) out.set(iss, p);
  }
  return out;
}

/**
 * Holds for the preset's untrusted events (pull requests): the rule then grants
 * pull only. The event claim must be a non-empty string outside the preset's
 * list for the event to be trusted: a missing claim, `null`, `""`, an array or
 * any other type is untrusted (fail closed). `from` is the rule's `provider:`
 * (all its issuers), or the presets inferred per issuer URL.
 */
function untrustedEventGuard(from: ProviderPreset | ReadonlyMap<string, ProviderPreset> | undefined, issuers: readonly string[]): Check | undefined {
  if (from === undefined) return undefined;
  const byIssuer = new Map<string, { path: ClaimPath; listed: ReadonlySet<unknown> }>();
  const labels: string[] = [];
  for (const iss of issuers) {
    const p = from instanceof Map ? from.get(iss) : (from as ProviderPreset);
    const events = p?.untrustedEvents;
    if (p === undefined || events === undefined) continue;
    byIssuer.set(iss, { path: events.claim, listed: new Set<unknown>(events.oneOf) });
    const label = `${formatClaimPath(events.claim)} in ${JSON.stringify(events.oneOf)}${from instanceof Map ? ` (preset ${p.name} inferred from the issuer)` : ''}`;
    if (!labels.includes(label)) labels.push(label);
  }
  if (byIssuer.size === 0) return undefined;
  return {
    label: `untrusted event (pull only): ${labels.join('; ')}, or the claim missing or not a non-empty string`,
    test: (ctx) => {
      const guard = ctx.identity === null ? undefined : byIssuer.get(ctx.identity.issuer);
      if (guard === undefined) return false;
      const value = ctx.claims === undefined ? undefined : resolveClaim(ctx.claims, guard.path);
      return typeof value !== 'string' || value === '' || guard.listed.has(value);
    },
  };
}

function resolveIssuers(
  input: RuleInput,
  preset: ProviderPreset | undefined,
  at: readonly PropertyKey[],
  options: CompileOptions,
  issues: IssueCollector,
): string[] {
  if (input.anonymous === true) return [];
  const declared = input.issuer === undefined ? [...(preset?.issuers ?? [])] : toList(input.issuer);
  if (declared.length === 0 && preset !== undefined) {
    issues.add([...at, 'issuer'], `provider ${preset.name} has one issuer per tenant: set \`issuer\` to yours`);
  }
  const out: string[] = [];
  declared.forEach((raw, i) => {
    const path = input.issuer === undefined || typeof input.issuer === 'string' ? [...at, 'issuer'] : [...at, 'issuer', i];
    const alias = ALIAS_RE.exec(raw);
    if (alias !== null) {
      const name = alias[1] as string;
      const resolved = options.issuerAliases?.[name];
      if (resolved !== undefined) out.push(resolved);
      else if (options.unresolvedAliases === 'placeholder') out.push(raw);
      else issues.add(path, `unknown issuer alias ${raw} (the server defines the aliases it supports)`);
      return;
    }
    if (raw.startsWith('$')) {
      issues.add(path, `${JSON.stringify(raw)} is neither a URL nor a valid $alias`);
      return;
    }
    if (!isUrl(raw)) issues.add(path, `${JSON.stringify(raw)} is not an absolute http(s) URL`);
    else out.push(raw);
  });
  return packed([...new Set(out)]);
}

function isUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

function compileGrant(g: GrantInput, at: readonly PropertyKey[], issues: IssueCollector): CompiledGrant[] {
  if (g.registry !== undefined) return [{ kind: 'catalog', actions: ['*'] }];
  const patterns = toList(g.repository ?? []);
  const matchers: RepositoryMatcher[] = [];
  patterns.forEach((p, i) => {
    const path = typeof g.repository === 'string' ? [...at, 'repository'] : [...at, 'repository', i];
    const m = issues.attempt(path, () => compileRepositoryPattern(p));
    if (m !== undefined) matchers.push(m);
  });
  return [{ kind: 'repository', matchers: packed(matchers), actions: packed([...new Set(g.actions ?? [])]) }];
}

function toList<T>(v: T | readonly T[]): T[] {
  return Array.isArray(v) ? [...(v as readonly T[])] : [v as T];
}

function policyVersion(document: PolicyDocumentInput, aliases: Readonly<Record<string, string>> | undefined): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(document));
  h.update('\u0000');
  h.update(JSON.stringify(Object.entries(aliases ?? {}).sort()));
  return h.digest('hex').slice(0, 16);
}
