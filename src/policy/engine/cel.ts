import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { MAX_CLAIM_VALUE_LENGTH } from './conditions.js';
import type { Check, EvalContext } from './context.js';
import { compileLinearRegex, type LinearRegex } from './regex.js';

/**
 * CEL conditions (`cel: 'claims.repository_owner_id == "65"'`), compiled once.
 * Variables: `claims` (map), `issuer`, `subject`, `service`, `clientIp`
 * (strings; "" when unknown). CEL has no loops, but comprehension macros
 * (`all`, `exists`, `map`, `filter`) nest into polynomial cost, so we bound
 * the expression size and allow no nested comprehensions. Any evaluation
 * error (a missing key, a type mismatch) or a non-true result means false.
 *
 * `matches()` runs on RE2 (linear time) instead of the library's JavaScript
 * RegExp, which backtracks: the parsed expression's `matches` calls are
 * pointed at our own function before type-checking.
 */

export const MAX_CEL_LENGTH = 1024;
const LIMITS = { maxAstNodes: 256, maxDepth: 24, maxListElements: 64, maxMapEntries: 64, maxCallArguments: 8 };
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

let env: Environment | undefined;
function environment(): Environment {
  env ??= new Environment({ unlistedVariablesAreDyn: false, limits: LIMITS })
    .registerVariable('claims', 'map')
    .registerVariable('issuer', 'string')
    .registerVariable('subject', 'string')
    .registerVariable('service', 'string')
    .registerVariable('clientIp', 'string')
    .registerFunction(`string.${LINEAR_MATCHES}(string): bool`, linearMatches);
  return env;
}

const LINEAR_MATCHES = 'matchesLinear';
const regexCache = new Map<string, LinearRegex>();
const REGEX_CACHE_LIMIT = 256;

function linearMatches(text: string, pattern: string): boolean {
  if (text.length > MAX_CLAIM_VALUE_LENGTH) throw new Error(`matches(): text longer than ${MAX_CLAIM_VALUE_LENGTH} characters`);
  let re = regexCache.get(pattern);
  if (re === undefined) {
    re = compileLinearRegex(pattern);
    if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re.matchesPart(text);
}

/** Points every `x.matches(re)` at the RE2 implementation; checks literal patterns now. */
function useLinearMatches(node: ASTNode): void {
  if (node.op === 'rcall' && node.args[0] === 'matches') {
    (node.args as unknown[])[0] = LINEAR_MATCHES;
    const pattern = node.args[2][0];
    if (pattern?.op === 'value' && typeof pattern.args === 'string') compileLinearRegex(pattern.args);
  }
  for (const child of children(node)) useLinearMatches(child);
}

export function compileCel(expression: string): Check {
  if (expression.length > MAX_CEL_LENGTH) throw new Error(`CEL expression longer than ${MAX_CEL_LENGTH} characters`);
  let program: ReturnType<Environment['parse']>;
  try {
    program = environment().parse(expression);
  } catch (err) {
    throw new Error(`CEL: ${firstLine(err)}`);
  }
  try {
    useLinearMatches(program.ast);
  } catch (err) {
    throw new Error(`CEL: ${firstLine(err)}`);
  }
  const checked = program.check();
  if (!checked.valid) throw new Error(`CEL: ${firstLine(checked.error).replaceAll(LINEAR_MATCHES, 'matches')}`);
  if (checked.type !== 'bool' && checked.type !== 'dyn') throw new Error(`CEL expression must be a bool, not ${checked.type}`);
  if (comprehensionDepth(program.ast) > 1) throw new Error('CEL: nested comprehensions (all/exists/map/filter inside another) are not allowed');

  return {
    label: `cel ${JSON.stringify(expression)}`,
    test: (ctx: EvalContext) => {
      try {
        return program(celVariables(ctx)) === true;
      } catch {
        return false;
      }
    },
  };
}

function celVariables(ctx: EvalContext): Record<string, unknown> {
  return {
    claims: ctx.claims ?? {},
    issuer: ctx.identity?.issuer ?? '',
    subject: ctx.identity?.subject ?? '',
    service: ctx.service,
    clientIp: ctx.clientIp ?? '',
  };
}

function comprehensionDepth(node: ASTNode): number {
  let inner = 0;
  for (const child of children(node)) inner = Math.max(inner, comprehensionDepth(child));
  const isComprehension = node.op === 'rcall' && COMPREHENSIONS.has(node.args[0]);
  return inner + (isComprehension ? 1 : 0);
}

function children(node: ASTNode): ASTNode[] {
  const out: ASTNode[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object' && 'op' in v && 'args' in v) out.push(v as ASTNode);
  };
  visit(node.args);
  return out;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
