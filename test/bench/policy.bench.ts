/**
 * Policy decision benchmark: `npx tsx test/bench/policy.bench.ts`.
 * Rules are spread over 100 issuers (a realistic multi-tenant shape: every
 * tenant has its own owner id and namespace). Prints p50/p99 per decision for
 * 100, 1,000 and 10,000 rules and the growth between them. Target: p99 < 50 µs
 * at 10,000 rules.
 */
import { parseScopes } from '../../src/registry/index.js';
import { compilePolicy, type CompiledPolicy, type PolicyRequest } from '../../src/policy/index.js';

const ISSUERS = 100;
const SAMPLES = 20_000;
const WARMUP = 5_000;

function issuer(i: number): string {
  return `https://issuer-${i}.example.test`;
}

function buildPolicy(ruleCount: number): CompiledPolicy {
  const rules = [];
  for (let r = 0; r < ruleCount; r++) {
    const iss = r % ISSUERS;
    const owner = String(Math.floor(r / ISSUERS));
    rules.push({
      id: `rule-${r}`,
      effect: r % 10 === 9 ? 'deny' : 'allow',
      issuer: issuer(iss),
      when: {
        owner_id: owner,
        ref: { glob: 'refs/heads/*' },
        event: { oneOf: ['push', 'workflow_dispatch'] },
      },
      grants:
        r % 10 === 9
          ? [{ repository: `t${owner}/locked/**`, actions: ['delete'] }]
          : [
              { repository: `t${owner}/\${repo_id}/**`, actions: ['pull', 'push'] },
              { repository: `t${owner}/shared/*`, actions: ['pull'] },
            ],
      ...(r % 10 === 9 ? {} : { tokenLifetime: 300 + r }),
    });
  }
  return compilePolicy({ version: 1, rules });
}

function requests(ruleCount: number): PolicyRequest[] {
  const out: PolicyRequest[] = [];
  const ownersPerIssuer = Math.max(1, Math.floor(ruleCount / ISSUERS));
  for (let i = 0; i < 1000; i++) {
    const iss = i % ISSUERS;
    const owner = String(i % ownersPerIssuer);
    out.push({
      identity: {
        issuer: issuer(iss),
        subject: `s${i}`,
        claims: { owner_id: owner, repo_id: String(i % 50), ref: 'refs/heads/main', event: 'push' },
        issuerId: 'bench',
        tokenHash: 'x',
        expiresAt: 0,
      },
      scopes: parseScopes([`repository:t${owner}/${i % 50}/app:pull,push`, `repository:t${owner}/shared/base:pull`]),
      service: 'registry',
    });
  }
  return out;
}

function measure(policy: CompiledPolicy, reqs: PolicyRequest[]): { p50: number; p99: number; granted: number } {
  let granted = 0;
  for (let i = 0; i < WARMUP; i++) policy.evaluate(reqs[i % reqs.length] as PolicyRequest);
  const times = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const req = reqs[i % reqs.length] as PolicyRequest;
    const t0 = process.hrtime.bigint();
    const d = policy.evaluate(req);
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
    if (d.access[0]?.actions.length === 2) granted++;
  }
  times.sort();
  return { p50: times[Math.floor(SAMPLES * 0.5)] as number, p99: times[Math.floor(SAMPLES * 0.99)] as number, granted };
}

const results: { rules: number; p50: number; p99: number }[] = [];
for (const count of [100, 1_000, 10_000]) {
  const t0 = performance.now();
  const policy = buildPolicy(count);
  const compileMs = performance.now() - t0;
  const { p50, p99, granted } = measure(policy, requests(count));
  results.push({ rules: count, p50, p99 });
  console.log(
    `${String(count).padStart(6)} rules / ${ISSUERS} issuers: compile ${compileMs.toFixed(0).padStart(5)} ms, p50 ${p50.toFixed(2).padStart(6)} µs, p99 ${p99.toFixed(2).padStart(6)} µs (${((granted / SAMPLES) * 100).toFixed(0)}% granted)`,
  );
}
// Worst case for comparison: one issuer whose rules pin nothing exactly, so every rule is scanned.
{
  const rules = Array.from({ length: 1_000 }, (_, r) => ({
    id: `scan-${r}`,
    effect: 'allow',
    issuer: issuer(0),
    when: { owner_id: { glob: `o${r}-*` } },
    grants: [{ repository: `t${r}/**`, actions: ['pull'] }],
  }));
  const policy = compilePolicy({ version: 1, rules });
  const reqs = requests(100).map((q) => ({ ...q, identity: q.identity === null ? null : { ...q.identity, issuer: issuer(0) } }));
  const { p50, p99 } = measure(policy, reqs);
  console.log(`  1000 rules on one issuer, no exact pin (linear scan, not a target): p50 ${p50.toFixed(2)} µs, p99 ${p99.toFixed(2)} µs`);
}

const first = results[0];
const last = results[results.length - 1];
if (first !== undefined && last !== undefined) {
  console.log(`growth 100 → 10,000 rules: p50 ×${(last.p50 / first.p50).toFixed(1)}, p99 ×${(last.p99 / first.p99).toFixed(1)}`);
  const ok = last.p99 < 50;
  console.log(`target p99 < 50 µs at 10,000 rules: ${ok ? 'met' : 'MISSED'}`);
  if (!ok) process.exitCode = 1;
}
