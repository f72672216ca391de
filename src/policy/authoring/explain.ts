import type { CompiledPolicy } from '../engine/compile.js';
import type { DecisionTrace } from '../engine/evaluate.js';
import type { Decision, PolicyRequest } from '../engine/types.js';

export interface Explanation {
  readonly decision: Decision;
  readonly trace: DecisionTrace;
}

/** Evaluates with a full trace: every rule of the issuer, every check's result, what each rule did. */
export function explain(policy: CompiledPolicy, request: PolicyRequest): Explanation {
  return policy.explain(request);
}

/** Renders an explanation for people (the `policy explain` CLI). */
export function formatExplanation(e: Explanation): string {
  const lines: string[] = [];
  const { trace, decision } = e;
  lines.push(
    trace.issuer === null
      ? `anonymous request: ${trace.rules.length} anonymous rule(s)`
      : `issuer ${trace.issuer}: ${trace.rules.length} rule(s) for this issuer, ${trace.skippedRules} for other issuers skipped`,
  );
  if (trace.rules.length === 0) lines.push('  no rule names this issuer: nothing can be granted');
  for (const r of trace.rules) {
    const status = !r.matched ? 'did not match' : r.contributed ? 'matched, contributed' : 'matched, no effect on the request';
    lines.push(`rule ${r.id} (${r.effect}): ${status}`);
    if (r.checks.length === 0) lines.push('  (no conditions)');
    for (const c of r.checks) lines.push(`  ${c.result ? 'pass' : 'FAIL'}  ${c.label}`);
    if (r.untrustedEvent === true) lines.push('  untrusted event (pull request): limited to pull');
    for (const eff of r.effects) lines.push(`  ${r.effect === 'allow' ? 'allows' : 'denies'} ${eff.resource}: ${eff.actions.join(', ')}`);
  }
  lines.push('result:');
  for (const a of decision.access) lines.push(`  ${a.type}:${a.name}: ${a.actions.length === 0 ? '(nothing)' : a.actions.join(', ')}`);
  lines.push(`matched rules: ${decision.matchedRules.length === 0 ? '(none)' : decision.matchedRules.join(', ')}`);
  if (decision.tokenLifetime !== undefined) lines.push(`token lifetime cap: ${decision.tokenLifetime}s`);
  return `${lines.join('\n')}\n`;
}
