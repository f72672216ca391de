import type { ConditionInput, ConditionOps, ScalarValue, WhenInput } from './document.js';
import { formatClaimPath, parseClaimPath, resolveClaim, type ClaimPath } from './claim-path.js';
import type { Check } from './context.js';
import { compileGlob, globLiteralPrefix } from './glob.js';
import type { IssueCollector } from '../issues.js';
import { compileLinearRegex } from './regex.js';
import { packed } from './packed.js';

/**
 * Claim conditions. Semantics that keep them fail-closed:
 * - a bare value means `equals`; comparisons are type-strict (`"65"` ≠ `65`)
 *   unless the condition sets `asString: true`;
 * - a missing claim fails every operator except `exists: false`, and `not`
 *   also requires the claim to be present;
 * - `any`/`all` need an array claim; `all` on an empty array is false;
 * - several operators in one object must all hold;
 * - a string longer than MAX_CLAIM_VALUE_LENGTH counts as missing, so an
 *   attacker-chosen value (a branch name) cannot make matching expensive.
 */

/** Longest string claim value a condition looks at; longer ones count as missing. */
export const MAX_CLAIM_VALUE_LENGTH = 1024;

type ValueTest = (value: unknown) => boolean;

/** A compiled claim condition; `path` is kept for lint and traces. */
export interface ClaimCheck extends Check {
  readonly path: ClaimPath;
  readonly condition: ConditionInput;
  /** Values the claim must strictly equal for the check to pass (a prefilter for indexing), if any. */
  readonly exact?: readonly ScalarValue[];
  /**
   * Otherwise, non-empty literal prefixes one of which the claim's text form
   * (`claimText`) must start with for the check to pass (a prefilter for indexing), if any.
   */
  readonly textPrefixes?: readonly string[];
}

export function compileWhen(when: WhenInput, at: readonly PropertyKey[], issues: IssueCollector): ClaimCheck[] {
  const entries: { path: string | readonly string[]; condition: ConditionInput; at: readonly PropertyKey[] }[] = Array.isArray(when)
    ? when.map(({ claim, ...ops }, i) => ({ path: claim, condition: ops, at: [...at, i] }))
    : Object.entries(when).map(([key, condition]) => ({ path: key, condition, at: [...at, key] }));

  const checks: ClaimCheck[] = [];
  for (const entry of entries) {
    const path = issues.attempt(entry.at, () => parseClaimPath(entry.path));
    const valueTest = compileCondition(entry.condition, entry.at, issues);
    if (path === undefined || valueTest === undefined) continue;
    const label = `${formatClaimPath(path)} ${describeCondition(entry.condition)}`;
    const exact = exactValues(entry.condition);
    const textPrefixes = exact === undefined ? prefixesOf(entry.condition) : undefined;
    checks.push({
      path,
      condition: entry.condition,
      ...(exact === undefined ? {} : { exact }),
      ...(textPrefixes === undefined ? {} : { textPrefixes }),
      label,
      test: claimTest(path, valueTest),
    });
  }
  return packed(checks);
}

// The tests a compiled policy keeps are made by these module-level factories, so each closure
// holds only what it reads: one made inline would keep its whole enclosing scope (the loop's
// entry, the document path for error messages, the list of tests being built) for the policy's
// lifetime.

function claimTest(path: ClaimPath, valueTest: ValueTest): Check['test'] {
  return (ctx) => ctx.claims !== undefined && valueTest(resolveClaim(ctx.claims, path));
}

function boundedLength(test: ValueTest): ValueTest {
  return (v) => test(typeof v === 'string' && v.length > MAX_CLAIM_VALUE_LENGTH ? undefined : v);
}

function equalsTest(expected: ScalarValue, asString: boolean): ValueTest {
  if (!asString) return (v) => v === expected;
  const text = String(expected);
  return (v) => claimText(v) === text;
}

function oneOfTest(values: readonly ScalarValue[], asString: boolean): ValueTest {
  if (!asString) {
    const set = new Set<ScalarValue>(values);
    return (v) => isScalar(v) && set.has(v);
  }
  const set = new Set<ScalarValue>(values.map(String));
  return (v) => {
    const t = claimText(v);
    return t !== undefined && set.has(t);
  };
}

function textTest(text: (v: unknown) => string | undefined, matches: (t: string) => boolean): ValueTest {
  return (v) => {
    const t = text(v);
    return t !== undefined && matches(t);
  };
}

function allOf(tests: readonly ValueTest[], needsValue: boolean): ValueTest {
  const list = packed(tests);
  return (v) => {
    if (needsValue && v === undefined) return false;
    for (const t of list) if (!t(v)) return false;
    return true;
  };
}

const stringText = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function compileCondition(cond: ConditionInput, at: readonly PropertyKey[], issues: IssueCollector): ValueTest | undefined {
  if (typeof cond !== 'object') return equalsTest(cond, false);
  const test = compileOps(cond, at, issues);
  return test === undefined ? undefined : boundedLength(test);
}

function compileOps(ops: ConditionOps, at: readonly PropertyKey[], issues: IssueCollector): ValueTest | undefined {
  const tests: ValueTest[] = [];
  const asString = ops.asString === true;
  const text = asString ? claimText : stringText;
  let ok = true;

  // A bare value (`equals` shorthand, above) fails on a missing claim: so does every operator
  // here but `exists: false`, through `needsValue` below.
  if (ops.equals !== undefined) tests.push(equalsTest(ops.equals, asString));
  if (ops.oneOf !== undefined) tests.push(oneOfTest(ops.oneOf, asString));
  if (ops.glob !== undefined) {
    const source = ops.glob;
    const re = issues.attempt([...at, 'glob'], () => compileGlob(source));
    if (re === undefined) ok = false;
    else tests.push(textTest(text, (t) => re.test(t)));
  }
  if (ops.regex !== undefined) {
    const source = ops.regex;
    const re = issues.attempt([...at, 'regex'], () => compileLinearRegex(source));
    if (re === undefined) ok = false;
    else tests.push(textTest(text, (t) => re.matchesWhole(t)));
  }
  if (ops.exists !== undefined) tests.push(existsTest(ops.exists));
  if (ops.not !== undefined) {
    const inner = compileCondition(ops.not, [...at, 'not'], issues);
    if (inner === undefined) ok = false;
    else tests.push(notTest(inner));
  }
  if (ops.any !== undefined) {
    const inner = compileCondition(ops.any, [...at, 'any'], issues);
    if (inner === undefined) ok = false;
    else tests.push(anyTest(inner));
  }
  if (ops.all !== undefined) {
    const inner = compileCondition(ops.all, [...at, 'all'], issues);
    if (inner === undefined) ok = false;
    else tests.push(everyTest(inner));
  }
  if (!ok) return undefined;

  const needsValue = ops.exists !== false;
  if (tests.length === 1 && !needsValue) return tests[0];
  return allOf(tests, needsValue);
}

function existsTest(want: boolean): ValueTest {
  return (v) => (v !== undefined) === want;
}

function notTest(inner: ValueTest): ValueTest {
  return (v) => v !== undefined && !inner(v);
}

function anyTest(inner: ValueTest): ValueTest {
  return (v) => Array.isArray(v) && v.some(inner);
}

function everyTest(inner: ValueTest): ValueTest {
  return (v) => Array.isArray(v) && v.length > 0 && v.every(inner);
}

function exactValues(cond: ConditionInput): readonly ScalarValue[] | undefined {
  if (typeof cond !== 'object') return [cond];
  if (cond.asString === true) return undefined;
  if (cond.equals !== undefined) return [cond.equals];
  return cond.oneOf;
}

/**
 * Every operator of a condition must hold, so one that bounds the claim's text
 * bounds the whole condition: `equals`/`oneOf` with `asString` (the whole text),
 * else `glob` (its literal prefix; globs are anchored). `not`, `any` and `all`
 * bound nothing here. An empty prefix admits every text: no bound.
 */
function prefixesOf(cond: ConditionInput): readonly string[] | undefined {
  if (typeof cond !== 'object') return undefined;
  let prefixes: string[] | undefined;
  if (cond.asString === true && cond.equals !== undefined) prefixes = [String(cond.equals)];
  else if (cond.asString === true && cond.oneOf !== undefined) prefixes = cond.oneOf.map(String);
  else if (cond.glob !== undefined) prefixes = [globLiteralPrefix(cond.glob)];
  return prefixes === undefined || prefixes.includes('') ? undefined : [...new Set(prefixes)];
}

function isScalar(v: unknown): v is ScalarValue {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** The text `asString` conditions compare (strings as they are, finite numbers and booleans as written); `glob` and `regex` see strings only. */
export function claimText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return undefined;
}

export function describeCondition(cond: ConditionInput): string {
  return typeof cond === 'object' ? JSON.stringify(cond) : `equals ${JSON.stringify(cond)}`;
}
