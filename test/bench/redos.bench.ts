/**
 * Worst-case matching benchmark: `npx tsx test/bench/redos.bench.ts`.
 *
 * Attacker-chosen claim values (branch names, subjects) meet author-written
 * regexes and globs on every decision. Each case runs a full policy decision
 * on the inputs a security review found taking seconds on a backtracking
 * engine, and on the longest value a condition still looks at (1024
 * characters). Target: p99 under 200 µs per decision for every case. The
 * baseline, measured in the same run on shorter inputs, is the same pattern
 * on V8's backtracking RegExp, which the engine used before.
 */
import { parseScopes } from '../../src/registry/index.js';
import { compilePolicy, type CompiledPolicy, type PolicyRequest } from '../../src/policy/index.js';

const ISS = 'https://issuer.example';
const SAMPLES = 2_000;
const TARGET_P99_US = 200;

function policyWith(rule: Record<string, unknown>): CompiledPolicy {
  return compilePolicy({ version: 1, rules: [{ id: 'r', effect: 'allow', issuer: ISS, grants: [{ repository: 'x/**', actions: ['pull'] }], ...rule }] });
}

function req(claims: Record<string, unknown>, scope = 'repository:x/a:pull'): PolicyRequest {
  return {
    identity: { issuer: ISS, subject: 's', claims: { iss: ISS, ...claims }, issuerId: 'bench', tokenHash: 'x', expiresAt: 0 },
    scopes: parseScopes([scope]),
    service: 'registry',
  };
}

function p99(fn: () => void): { p50: number; p99: number } {
  for (let i = 0; i < 200; i++) fn();
  const times = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  times.sort();
  return { p50: times[Math.floor(SAMPLES / 2)] as number, p99: times[Math.floor(SAMPLES * 0.99)] as number };
}

const digits = (n: number): string => '1'.repeat(n);
const deepName = (n: number): string => `a/${'b/'.repeat(n)}y`;

const cases: { name: string; policy: CompiledPolicy; request: PolicyRequest }[] = [
  { name: 'regex (\\w|\\d)*x, 27 digits', policy: policyWith({ when: { ref: { regex: '(\\w|\\d)*x' } } }), request: req({ ref: digits(27) }) },
  { name: 'regex (\\w|\\d)*x, 1024 digits', policy: policyWith({ when: { ref: { regex: '(\\w|\\d)*x' } } }), request: req({ ref: digits(1024) }) },
  { name: 'regex (a|aa)*b, 1024 a', policy: policyWith({ when: { ref: { regex: '(a|aa)*b' } } }), request: req({ ref: 'a'.repeat(1024) }) },
  { name: 'CEL matches (\\w|\\d)*x, 27 digits', policy: policyWith({ cel: 'claims.ref.matches("^(\\\\w|\\\\d)*x$")' }), request: req({ ref: digits(27) }) },
  { name: 'CEL matches (\\w|\\d)*x, 1024 digits', policy: policyWith({ cel: 'claims.ref.matches("^(\\\\w|\\\\d)*x$")' }), request: req({ ref: digits(1024) }) },
  { name: 'glob a/**/**/**/**/**/**/z on a claim, 123 chars', policy: policyWith({ when: { ref: { glob: 'a/**/**/**/**/**/**/z' } } }), request: req({ ref: deepName(60) }) },
  { name: 'glob a/**/b/**/b/**/b/**/z on a claim, 1024 chars', policy: policyWith({ when: { ref: { glob: 'a/**/b/**/b/**/b/**/z' } } }), request: req({ ref: deepName(510) }) },
  {
    name: 'repository a/**/**/**/**/**/**/z, 123-char name',
    policy: compilePolicy({ version: 1, rules: [{ id: 'r', effect: 'allow', issuer: ISS, grants: [{ repository: 'a/**/**/**/**/**/**/z', actions: ['pull'] }] }] }),
    request: req({}, `repository:${deepName(60)}:pull`),
  },
  {
    name: 'repository a/**/b/**/b/**/b/**/z, 255-char name',
    policy: compilePolicy({ version: 1, rules: [{ id: 'r', effect: 'allow', issuer: ISS, grants: [{ repository: 'a/**/b/**/b/**/b/**/z', actions: ['pull'] }] }] }),
    request: req({}, `repository:${deepName(125)}:pull`),
  },
];

// Baseline: the backtracking engine the policy used before, on much shorter inputs (longer ones take minutes).
function timeOnce(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}
const oldRegex = new RegExp('^(?:(\\w|\\d)*x)$', 'u');
const oldGlob = new RegExp('^(?:a/(?:[^]*/)?(?:[^]*/)?(?:[^]*/)?(?:[^]*/)?(?:[^]*/)?(?:[^]*/)?z)$');
console.log('baseline (V8 backtracking RegExp, as before):');
for (const n of [20, 22, 24]) console.log(`  regex (\\w|\\d)*x on ${n} digits: ${timeOnce(() => oldRegex.test(digits(n))).toFixed(1)} ms`);
for (const n of [15, 20, 25]) console.log(`  glob a/**/…/**/z on ${deepName(n).length} chars: ${timeOnce(() => oldGlob.test(deepName(n))).toFixed(1)} ms`);

console.log(`linear-time engine (full policy decision, ${SAMPLES} samples each):`);
let missed = 0;
for (const c of cases) {
  const granted = c.policy.evaluate(c.request).access[0]?.actions.length ?? 0;
  const { p50, p99: worst } = p99(() => c.policy.evaluate(c.request));
  const ok = worst < TARGET_P99_US;
  if (!ok) missed++;
  console.log(`  ${ok ? 'PASS' : 'MISS'}  ${c.name.padEnd(52)} p50 ${p50.toFixed(1).padStart(7)} µs  p99 ${worst.toFixed(1).padStart(7)} µs  (granted ${granted})`);
}
console.log(`target p99 < ${TARGET_P99_US} µs per decision on every worst case: ${missed === 0 ? 'PASS' : `MISS (${missed})`}`);
if (missed > 0) process.exitCode = 1;
