import type { ClaimPath } from '../engine/claim-path.js';
import type { ScalarValue } from '../engine/document.js';

export type ClaimType = 'string' | 'number' | 'boolean' | 'array' | 'object';

export interface PresetClaim {
  readonly type: ClaimType;
  /**
   * `id` = immutable identifier; `name` = mutable, re-registrable name;
   * `display` = free text never fit for authorization; `context` = anything else.
   */
  readonly kind: 'id' | 'name' | 'display' | 'context';
  /** Values always contain "/": never a single repository path component. */
  readonly containsSlash?: boolean;
  /** For a name: the claim holding the matching immutable id. */
  readonly idClaim?: string;
  readonly note?: string;
}

/** A provider described as data (providers/presets/<name>.yaml). */
export interface ProviderPreset {
  readonly name: string;
  readonly description: string;
  /** Default issuers for rules that name this provider and no issuer; empty when each tenant has its own. */
  readonly issuers: readonly string[];
  /** The issuer is shared by unrelated tenants: rules must pin one of `tenantClaims`. */
  readonly sharedIssuer: boolean;
  /** Claims that pin a tenant (owner/namespace/org ids) on a shared issuer. */
  readonly tenantClaims: readonly string[];
  /** Known claims by canonical path string (`kubernetes\.io.namespace`). */
  readonly claims: Readonly<Record<string, PresetClaim>>;
  /** When this claim has one of these values, allow rules grant pull only unless `allowUntrustedEvents: true`. */
  readonly untrustedEvents?: { readonly claim: ClaimPath; readonly oneOf: readonly ScalarValue[] };
  /** Provider-specific lint checks, as data read by the generic lint. */
  readonly lint: readonly PresetLintCheck[];
}

/**
 * A lint check a preset asks for. Kinds:
 * - `condition-text-contains`: a condition on `claim` whose texts (equals,
 *   oneOf, glob) all lack `contains` (GitHub `sub` without the immutable `@` form);
 * - `condition-requires`: a rule with a condition on `claim` must also require
 *   `requires.claim` to equal `requires.equals` (Google `email` needs `email_verified: true`).
 */
export type PresetLintCheck =
  | { readonly kind: 'condition-text-contains'; readonly code: string; readonly level: 'error' | 'warning'; readonly claim: string; readonly contains: string; readonly message: string }
  | {
      readonly kind: 'condition-requires';
      readonly code: string;
      readonly level: 'error' | 'warning';
      readonly claim: string;
      readonly requires: { readonly claim: string; readonly equals: ScalarValue };
      readonly message: string;
    };
