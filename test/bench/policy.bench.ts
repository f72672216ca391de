/**
 * Policy decision benchmark: `npx tsx test/bench/policy.bench.ts`, or
 * `runPolicyBench()` from a runner. Two shapes, each with a target:
 * - multi-tenant: 100 to 10,000 rules spread over 100 issuers, every tenant
 *   pinning its own owner id exactly. Target: p99 < 50 µs at 10,000 rules.
 * - single issuer: 1,000 GitHub-style rules on one issuer, none pinning a claim
 *   exactly (globs on `sub` or `repository`, plus a glob on `ref`). Target:
 *   p99 < 50 µs.
 * Standalone, it prints the figures and a line per target, and exits 1 when a target is missed.
 */
import { pathToFileURL } from 'node:url';
import { parseScopes } from '../../src/registry/index.js';
import { compilePolicy, type CompiledPolicy, type PolicyRequest } from '../../src/policy/index.js';
import type { TargetLine } from './report.js';

const ISSUERS = 100;
const SAMPLES = 20_000;
const WARMUP = 5_000;
const TARGET_P99_US = 50;
const GITHUB = 'https://token.actions.githubusercontent.com';

function issuer(i: number): string {
  return `https://issuer-${i}.example.test`;
}

function buildTenantPolicy(ruleCount: number): CompiledPolicy {
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

function tenantRequests(ruleCount: number): PolicyRequest[] {
  const out: PolicyRequest[] = [];
  const ownersPerIssuer = Math.max(1, Math.floor(ruleCount / ISSUERS));
  for (let i = 0; i < 1000; i++) {
    const iss = i % ISSUERS;
    const owner = String(i % ownersPerIssuer);
    out.push(githubRequest(issuer(iss), { owner_id: owner, repo_id: String(i % 50), ref: 'refs/heads/main', event: 'push' }, [
      `repository:t${owner}/${i % 50}/app:pull,push`,
      `repository:t${owner}/shared/base:pull`,
    ]));
  }
  return out;
}

/**
 * One organisation per pair of rules: branch builds match on `sub`, tag builds on
 * `repository`, as GitHub Actions policies are usually written; every tenth rule
 * is a deny. No rule pins a claim exactly.
 */
const SINGLE_ISSUER_RULES = 1_000;

function buildSingleIssuerPolicy(): CompiledPolicy {
  const rules = [];
  for (let r = 0; r < SINGLE_ISSUER_RULES; r++) {
    const org = `org-${Math.floor(r / 2)}`;
    const deny = r % 10 === 9;
    rules.push({
      id: `gh-${r}`,
      effect: deny ? 'deny' : 'allow',
      issuer: GITHUB,
      when:
        r % 2 === 0
          ? { sub: { glob: `repo:${org}/**` }, ref: { glob: 'refs/heads/*' } }
          : { repository: { glob: `${org}/app-*` }, ref: { glob: 'refs/tags/v*' } },
      grants: deny ? [{ repository: `${org}/prod/**`, actions: ['delete'] }] : [{ repository: `${org}/**`, actions: ['pull', 'push'] }],
    });
  }
  return compilePolicy({ version: 1, rules });
}

function singleIssuerRequests(): PolicyRequest[] {
  const out: PolicyRequest[] = [];
  for (let i = 0; i < 1000; i++) {
    const org = `org-${i % (SINGLE_ISSUER_RULES / 2)}`;
    const repository = `${org}/app-${i % 7}`;
    const ref = i % 3 === 0 ? `refs/tags/v1.${i % 10}` : 'refs/heads/main';
    out.push(githubRequest(GITHUB, { sub: `repo:${repository}:ref:${ref}`, repository, ref, event_name: 'push' }, [`repository:${repository}:pull,push`]));
  }
  return out;
}

function githubRequest(iss: string, claims: Record<string, unknown>, scopes: string[]): PolicyRequest {
  return {
    identity: { issuer: iss, subject: String(claims.sub ?? 'bench'), claims, issuerId: 'bench', tokenHash: 'x', expiresAt: 0 },
    scopes: parseScopes(scopes),
    service: 'registry',
  };
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

const pct = (granted: number): string => `${((granted / SAMPLES) * 100).toFixed(0)}% granted`;

/** Runs both shapes; `log` receives the figures as they come. */
export async function runPolicyBench(log: (line: string) => void = console.log): Promise<TargetLine[]> {
  const targets: TargetLine[] = [];
  const results: { rules: number; p50: number; p99: number }[] = [];
  for (const count of [100, 1_000, 10_000]) {
    const t0 = performance.now();
    const policy = buildTenantPolicy(count);
    const compileMs = performance.now() - t0;
    const { p50, p99, granted } = measure(policy, tenantRequests(count));
    results.push({ rules: count, p50, p99 });
    log(
      `${String(count).padStart(6)} rules / ${ISSUERS} issuers: compile ${compileMs.toFixed(0).padStart(5)} ms, p50 ${p50.toFixed(2).padStart(6)} µs, p99 ${p99.toFixed(2).padStart(6)} µs (${pct(granted)})`,
    );
    await yieldToLoop();
  }
  const first = results[0];
  const last = results[results.length - 1];
  if (first !== undefined && last !== undefined) {
    log(`growth 100 → 10,000 rules: p50 ×${(last.p50 / first.p50).toFixed(1)}, p99 ×${(last.p99 / first.p99).toFixed(1)}`);
    targets.push({ target: `policy p99 < ${TARGET_P99_US} µs at 10,000 rules over 100 issuers`, measured: `p99 ${last.p99.toFixed(2)} µs`, pass: last.p99 < TARGET_P99_US });
  }

  const t0 = performance.now();
  const policy = buildSingleIssuerPolicy();
  const compileMs = performance.now() - t0;
  const { p50, p99, granted } = measure(policy, singleIssuerRequests());
  log(
    `${String(SINGLE_ISSUER_RULES).padStart(6)} rules / 1 issuer, no exact pin: compile ${compileMs.toFixed(0).padStart(5)} ms, p50 ${p50.toFixed(2).padStart(6)} µs, p99 ${p99.toFixed(2).padStart(6)} µs (${pct(granted)})`,
  );
  targets.push({ target: `policy p99 < ${TARGET_P99_US} µs at 1,000 rules on one issuer without exact pin`, measured: `p99 ${p99.toFixed(2)} µs`, pass: p99 < TARGET_P99_US });
  return targets;
}

/** Lets a runner's timers and I/O through between the (synchronous) measurements. */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const targets = await runPolicyBench();
  const [tenants, single] = targets;
  if (tenants !== undefined) console.log(`target p99 < ${TARGET_P99_US} µs at 10,000 rules: ${tenants.pass ? 'met' : 'MISSED'}`);
  if (single !== undefined) console.log(`target p99 < ${TARGET_P99_US} µs at 1,000 rules on one issuer without exact pin: ${single.pass ? 'met' : 'MISSED'}`);
  if (targets.some((t) => !t.pass)) process.exitCode = 1;
}
