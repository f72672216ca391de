import { z } from 'zod';
import { formatPath, type PolicyIssue } from '../errors.js';

/**
 * The policy document as written in YAML, validated with strict objects so a
 * typo such as `efect:` is an error instead of a silently ignored key.
 */

export const ACTIONS = ['pull', 'push', 'delete', '*'] as const;
export type GrantAction = (typeof ACTIONS)[number];

const MAX_PATTERN_LENGTH = 512;

const Scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});
export type ScalarValue = z.infer<typeof Scalar>;

/** A claim path: a string (`a.b`, `\.` escapes a dot) or a list of literal segments. */
const ClaimPath = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: 'expected a claim name or a list of path segments',
});
export type ClaimPathInput = z.infer<typeof ClaimPath>;

const OPERATOR_KEYS = ['equals', 'oneOf', 'glob', 'regex', 'exists', 'not', 'any', 'all'] as const;

export interface ConditionOps {
  equals?: ScalarValue;
  oneOf?: ScalarValue[];
  glob?: string;
  regex?: string;
  exists?: boolean;
  not?: ConditionInput;
  any?: ConditionInput;
  all?: ConditionInput;
  /** Compare numbers and booleans by their text form (`65` then equals `"65"`). */
  asString?: boolean;
}
export type ConditionInput = ScalarValue | ConditionOps;

const opsShape = {
  equals: Scalar.optional(),
  oneOf: z.array(Scalar).min(1).optional(),
  glob: z.string().min(1).max(MAX_PATTERN_LENGTH).optional(),
  regex: z.string().min(1).optional(),
  exists: z.boolean().optional(),
  get not(): z.ZodOptional<z.ZodType<ConditionInput>> {
    return Condition.optional();
  },
  get any(): z.ZodOptional<z.ZodType<ConditionInput>> {
    return Condition.optional();
  },
  get all(): z.ZodOptional<z.ZodType<ConditionInput>> {
    return Condition.optional();
  },
  asString: z.boolean().optional(),
};

function hasOperator(v: Record<string, unknown>): boolean {
  return OPERATOR_KEYS.some((k) => v[k] !== undefined);
}
const NEEDS_OPERATOR = `expected at least one of ${OPERATOR_KEYS.join(', ')}`;

const ConditionObject = z.strictObject(opsShape).refine(hasOperator, { error: NEEDS_OPERATOR });
export const Condition: z.ZodType<ConditionInput> = z.union([Scalar, ConditionObject], {
  error: `expected a value or an object with ${OPERATOR_KEYS.join(', ')}`,
});

const ClaimCondition = z
  .strictObject({ claim: ClaimPath, ...opsShape })
  .refine(hasOperator, { error: NEEDS_OPERATOR });
export type ClaimConditionInput = z.infer<typeof ClaimCondition>;

/** `when:` is a map (claim name → condition) or a list of `{claim, ...operators}`. */
const When = z.union([z.record(z.string().min(1), Condition), z.array(ClaimCondition)], {
  error: 'expected a map of claim → condition or a list of {claim, ...}',
});
export type WhenInput = z.infer<typeof When>;

const Action = z.enum(ACTIONS, { error: `expected one of ${ACTIONS.join(', ')}` });

const OneOrMany = (s: z.ZodString) => z.union([s, z.array(s).min(1)], { error: 'expected a string or a list of strings' });

const Grant = z
  .strictObject({
    repository: OneOrMany(z.string().min(1).max(MAX_PATTERN_LENGTH))
      .optional()
      .describe('repository glob(s): * within a segment, ** across; ${claim} placeholders'),
    registry: z.literal('catalog', { error: 'expected "catalog"' }).optional(),
    actions: z.array(Action).min(1).optional(),
  })
  .superRefine((g, ctx) => {
    if ((g.repository === undefined) === (g.registry === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a grant names exactly one of `repository` or `registry`' });
    }
    if (g.repository !== undefined && g.actions === undefined) {
      ctx.addIssue({ code: 'custom', path: ['actions'], message: 'required for a repository grant' });
    }
    if (g.registry !== undefined && g.actions !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['actions'], message: 'registry:catalog always means the action "*"; remove `actions`' });
    }
  });
export type GrantInput = z.infer<typeof Grant>;

const RULE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const Rule = z
  .strictObject({
    id: z.string().regex(RULE_ID_RE, { error: 'expected letters, digits, ".", "_" or "-" (max 128)' }),
    description: z.string().optional(),
    effect: z.enum(['allow', 'deny'], { error: 'expected one of allow, deny' }).describe('allow grants; deny removes (deny wins per action)'),
    /** A provider preset name (src/policy/providers/presets/<name>.yaml): default issuer, claim types, safe defaults. */
    provider: z.string().regex(/^[a-z0-9-]+$/).optional().describe('preset name: github-actions, gitlab, buildkite, circleci, kubernetes, google'),
    /** Exact issuer URL(s); `$name` refers to an alias given at compile time. */
    issuer: OneOrMany(z.string().min(1)).optional().describe('exact issuer URL(s), or $alias'),
    /** Matches requests without credentials; such rules cannot name an issuer. */
    anonymous: z.literal(true, { error: 'expected true (omit the key otherwise)' }).optional(),
    when: When.optional().describe('claim conditions, all must hold; a bare value means equals (type-strict)'),
    /** A CEL expression that must evaluate to true. */
    cel: z.string().min(1).optional().describe('CEL expression over claims, issuer, subject, service, clientIp; must be true'),
    /** The request's `service` must be one of these. */
    service: OneOrMany(z.string().min(1)).optional().describe('the request service must be one of these'),
    /** The client IP must fall in one of these CIDR ranges. */
    clientIp: OneOrMany(z.string().min(1)).optional().describe('the client IP must be in one of these CIDR ranges'),
    grants: z.array(Grant).min(1),
    tokenLifetime: z.number().int().min(1).max(86_400).optional().describe('cap on the bearer token lifetime, seconds'),
    refreshLifetime: z.number().int().min(60).max(30 * 86_400).optional().describe('cap on the lifetime of a session (refresh token) opened under this rule, seconds'),
    /** Opt-in: let the provider's untrusted events (pull requests, merge requests) push and delete. */
    allowUntrustedEvents: z.boolean().optional().describe("opt-in: let the preset's untrusted events (pull/merge requests) push and delete"),
  })
  .superRefine((r, ctx) => {
    const sources = [r.issuer !== undefined, r.anonymous === true, r.provider !== undefined].filter(Boolean).length;
    if (r.anonymous === true && sources > 1) {
      ctx.addIssue({ code: 'custom', path: ['anonymous'], message: 'an anonymous rule cannot also name an issuer or provider' });
    } else if (sources === 0) {
      ctx.addIssue({ code: 'custom', message: 'a rule needs `issuer`, `provider` or `anonymous: true`' });
    }
    if (r.anonymous === true && r.when !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['when'], message: 'anonymous requests have no claims' });
    }
    if (r.effect === 'deny' && r.refreshLifetime !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['refreshLifetime'], message: 'only allow rules cap the session lifetime' });
    }
    if (r.effect === 'deny' && r.tokenLifetime !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['tokenLifetime'], message: 'only allow rules cap the token lifetime' });
    }
  });
export type RuleInput = z.infer<typeof Rule>;

export const PolicyDocument = z
  .strictObject({
    version: z.literal(1, { error: 'expected 1' }),
    rules: z.array(Rule),
  })
  .superRefine((doc, ctx) => {
    const seen = new Set<string>();
    doc.rules.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${JSON.stringify(r.id)}` });
      seen.add(r.id);
    });
  });
export type PolicyDocumentInput = z.infer<typeof PolicyDocument>;

/**
 * Keys that name JavaScript object machinery. Schema validation drops
 * `__proto__` silently (a `when: {__proto__: …}` would turn into "no
 * conditions", matching every token), so such keys are refused anywhere in a
 * policy document, before validation, with the path named.
 */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DOCUMENT_DEPTH = 64;

export function unsafeKeyIssues(doc: unknown): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const path: PropertyKey[] = []; // one stack for the walk: a policy of 10,000 rules has many nodes
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (path.length > MAX_DOCUMENT_DEPTH) {
      issues.push({ path: formatPath(path), message: `nested deeper than ${MAX_DOCUMENT_DEPTH} levels` });
      return;
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        path.push(i);
        visit(node[i]);
        path.pop();
      }
      return;
    }
    for (const key of Object.keys(node)) {
      path.push(key);
      if (UNSAFE_KEYS.has(key)) issues.push({ path: formatPath(path), message: `the key ${JSON.stringify(key)} is not allowed in a policy` });
      else visit((node as Record<string, unknown>)[key]);
      path.pop();
    }
  };
  visit(doc);
  return issues;
}
