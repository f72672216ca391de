import type { ClaimCheck } from './conditions.js';
import type { Check } from './context.js';
import type { PolicyDocumentInput, RuleInput } from './document.js';
import type { ProviderPreset } from '../providers/preset-types.js';
import type { RepositoryMatcher } from './template.js';
import type { ResourceDenies } from './deny-index.js';

/** One grant after compilation. `repository` grants match names; `registry` grants are the catalog. */
export type CompiledGrant =
  | { readonly kind: 'repository'; readonly matchers: readonly RepositoryMatcher[]; readonly actions: readonly string[] }
  | { readonly kind: 'catalog'; readonly actions: readonly string[] };

export interface CompiledRule {
  readonly id: string;
  readonly index: number;
  readonly effect: 'allow' | 'deny';
  readonly input: RuleInput;
  /** Exact issuers after alias and preset resolution; empty for anonymous rules. */
  readonly issuers: readonly string[];
  readonly anonymous: boolean;
  readonly preset?: ProviderPreset;
  readonly claimChecks: readonly ClaimCheck[];
  /** Request and CEL checks, evaluated after the (cheaper) claim checks. */
  readonly otherChecks: readonly Check[];
  /** Holds for the provider's untrusted events (PRs): the rule then grants pull only. */
  readonly untrustedGuard?: Check;
  readonly grants: readonly CompiledGrant[];
  readonly tokenLifetime?: number;
  readonly refreshLifetime?: number;
}

/**
 * The rules of one issuer. When many of them pin the same claim to exact
 * values or to literal prefixes (a shared issuer with one rule set per
 * tenant or per organisation), they are also indexed by that claim, so a
 * decision only looks at the rules the caller's value can match.
 */
export interface IssuerRules {
  /** All rules of the issuer, in document order. */
  readonly all: readonly CompiledRule[];
  readonly index?: ClaimIndex;
  /**
   * When the issuer has several deny rules without conditions: those, keyed by the
   * repositories they name, and the other rules (indexed by claims) apart.
   */
  readonly split?: { readonly conditioned: IssuerRules; readonly denies: ResourceDenies };
}

/** Rules keyed by what one claim must be for them to match; every key is a necessary condition, never a sufficient one. */
export interface ClaimIndex {
  readonly path: readonly string[];
  /** Typed value key (see valueKey) → rules that need the claim to equal that value. */
  readonly byValue: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Per prefix length (ascending): prefix → rules that need the claim's text to start with it. */
  readonly byPrefix: readonly { readonly length: number; readonly rules: ReadonlyMap<string, readonly CompiledRule[]> }[];
  /** Rules that put no such bound on the claim: always candidates (themselves indexed by another claim when that pays). */
  readonly rest: IssuerRules;
}

export interface CompiledPolicyData {
  readonly document: PolicyDocumentInput;
  readonly rules: readonly CompiledRule[];
  readonly byIssuer: ReadonlyMap<string, IssuerRules>;
  readonly anonymousRules: readonly CompiledRule[];
}
