import { z } from 'zod';
import type { Identity } from '../../identity/types.js';
import { parseScopes } from '../../registry/index.js';
import type { CompiledPolicy } from '../engine/compile.js';
import { PolicyError } from '../errors.js';
import type { Decision, PolicyRequest } from '../engine/types.js';
import { zodIssues } from '../zod-issues.js';

/**
 * Policy test cases (`portcullis policy test cases.yaml --policy policy.yaml`):
 * requests with the decision they must produce, so a policy change is checked
 * like code.
 */

const Case = z
  .strictObject({
    name: z.string().min(1),
    issuer: z.string().min(1).optional(),
    anonymous: z.literal(true).optional(),
    claims: z.record(z.string(), z.unknown()).optional(),
    service: z.string().min(1).optional(),
    clientIp: z.string().min(1).optional(),
    scopes: z.array(z.string().min(1)).min(1),
    expect: z.strictObject({
      /** "type:name" → the exact actions granted (order does not matter; [] = nothing). */
      access: z.record(z.string(), z.array(z.string())),
      matchedRules: z.array(z.string()).optional(),
      tokenLifetime: z.number().int().positive().nullable().optional(),
    }),
  })
  .refine((c) => c.anonymous === true || c.claims !== undefined, { error: 'a case needs `claims` or `anonymous: true`' });

export const PolicyCases = z.strictObject({
  /** Default `service` for cases that do not set one. */
  service: z.string().min(1).optional(),
  cases: z.array(Case).min(1),
});
export type PolicyCasesInput = z.infer<typeof PolicyCases>;
type CaseInput = z.infer<typeof Case>;

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  readonly failures: readonly string[];
  readonly decision: Decision;
}

export function parsePolicyCases(doc: unknown, source?: string): PolicyCasesInput {
  const parsed = PolicyCases.safeParse(doc);
  if (!parsed.success) throw new PolicyError(zodIssues(parsed.error.issues), source);
  return parsed.data;
}

/** Builds the identity a verified token with these claims would produce (`iss` and `sub` from the claims). */
export function identityFromClaims(claims: Readonly<Record<string, unknown>>, issuer?: string): Identity {
  const iss = issuer ?? (typeof claims.iss === 'string' ? claims.iss : undefined);
  if (iss === undefined) throw new Error('no issuer: set --issuer / `issuer:` or put "iss" in the claims');
  return {
    issuer: iss,
    subject: typeof claims.sub === 'string' ? claims.sub : '',
    claims: { ...claims, iss },
    issuerId: 'policy-test',
    tokenHash: 'policy-test',
    expiresAt: typeof claims.exp === 'number' ? claims.exp : 0,
  };
}

export function caseRequest(c: CaseInput, defaultService: string): PolicyRequest {
  const identity = c.anonymous === true ? null : identityFromClaims(c.claims ?? {}, c.issuer);
  return {
    identity,
    scopes: parseScopes(c.scopes),
    service: c.service ?? defaultService,
    ...(c.clientIp === undefined ? {} : { clientIp: c.clientIp }),
  };
}

export function runPolicyCases(policy: CompiledPolicy, cases: PolicyCasesInput): CaseResult[] {
  return cases.cases.map((c) => {
    const decision = policy.evaluate(caseRequest(c, cases.service ?? 'registry'));
    const failures: string[] = [];
    const got = new Map(decision.access.map((a) => [`${a.type}:${a.name}`, a.actions]));
    for (const [resource, want] of Object.entries(c.expect.access)) {
      const actual = got.get(resource);
      if (actual === undefined) failures.push(`${resource}: not requested by the case's scopes`);
      else if (!sameSet(actual, want)) failures.push(`${resource}: expected [${want.join(', ')}], got [${actual.join(', ')}]`);
    }
    for (const [resource, actual] of got) {
      if (!(resource in c.expect.access) && actual.length > 0) failures.push(`${resource}: granted [${actual.join(', ')}] but the case expects nothing listed`);
    }
    if (c.expect.matchedRules !== undefined && !sameSet(decision.matchedRules, c.expect.matchedRules)) {
      failures.push(`matchedRules: expected [${c.expect.matchedRules.join(', ')}], got [${decision.matchedRules.join(', ')}]`);
    }
    if (c.expect.tokenLifetime !== undefined && (decision.tokenLifetime ?? null) !== c.expect.tokenLifetime) {
      failures.push(`tokenLifetime: expected ${c.expect.tokenLifetime}, got ${decision.tokenLifetime ?? 'none'}`);
    }
    return { name: c.name, passed: failures.length === 0, failures, decision };
  });
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}
