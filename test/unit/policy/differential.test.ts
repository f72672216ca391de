import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScopes } from '../../../src/registry/index.js';
import { compilePolicy, type Decision } from '../../../src/policy/index.js';
import { identity } from './helpers.js';
import { modelEvaluate, type ModelDecision, type PolicyDoc } from './differential/model.js';
import { policyArb, requestArb, type RequestSpec } from './differential/generators.js';

/**
 * Differential test: the engine against a reference model written from
 * docs/policy.md alone (differential/model.ts). Each run compares access,
 * matchedRules and tokenLifetime for RUNS policies × REQUESTS_PER_POLICY
 * requests; on a disagreement fast-check shrinks the case and prints the
 * policy, the request and both answers. When the docs and the engine part
 * ways, this test says so before a user does.
 *
 * PORTCULLIS_DIFF_SEED=<n> replays a failing run.
 */

const RUNS = 2_500;
const REQUESTS_PER_POLICY = 4;

function engineAnswer(d: Decision): ModelDecision {
  return {
    access: d.access.map((a) => ({ type: a.type, name: a.name, actions: [...a.actions].sort() })),
    matchedRules: [...d.matchedRules],
    tokenLifetime: d.tokenLifetime ?? null,
  };
}

function compare(doc: PolicyDoc, requests: readonly RequestSpec[]): void {
  const policy = compilePolicy(doc);
  for (const r of requests) {
    const scopes = parseScopes(r.scopes);
    const id = r.issuer === null ? null : identity(r.claims, r.issuer);
    const ip = r.clientIp === undefined ? {} : { clientIp: r.clientIp };
    const engine = engineAnswer(policy.evaluate({ identity: id, scopes, service: r.service, ...ip }));
    const model = modelEvaluate(doc, { identity: id === null ? null : { issuer: id.issuer, claims: id.claims }, scopes, service: r.service, ...ip });
    if (JSON.stringify(engine) !== JSON.stringify(model)) {
      throw new Error(
        `engine and docs disagree\n  policy:  ${JSON.stringify(doc)}\n  request: ${JSON.stringify(r)}\n  engine:  ${JSON.stringify(engine)}\n  model:   ${JSON.stringify(model)}`,
      );
    }
  }
}

describe('differential: engine vs the documented semantics', () => {
  it(`agrees on ${RUNS * REQUESTS_PER_POLICY} generated cases`, () => {
    const seed = process.env.PORTCULLIS_DIFF_SEED === undefined ? undefined : Number(process.env.PORTCULLIS_DIFF_SEED);
    const outcome = fc.check(
      fc.property(policyArb, fc.array(requestArb, { minLength: REQUESTS_PER_POLICY, maxLength: REQUESTS_PER_POLICY }), (doc, requests) => compare(doc, requests)),
      { numRuns: RUNS, ...(seed === undefined ? {} : { seed }) },
    );
    if (outcome.failed) {
      // The shrunk counterexample, readable: the error names policy, request and both answers.
      const error = outcome.errorInstance instanceof Error ? outcome.errorInstance.message : String(outcome.errorInstance);
      console.error(`differential test failed (seed ${outcome.seed}, replay with PORTCULLIS_DIFF_SEED=${outcome.seed}) after ${outcome.numShrinks} shrinks:\n${error}`);
      expect.fail(error);
    }
    expect(outcome.numRuns).toBe(RUNS);
  }, 60_000);

  it('the model itself answers the documented examples', () => {
    // Guards the guard: a model that grants nothing would agree with a broken engine only by luck.
    const doc: PolicyDoc = {
      version: 1,
      rules: [
        { id: 'all', effect: 'allow', issuer: 'https://i.example', grants: [{ repository: 't/**', actions: ['*'] }], tokenLifetime: 3600 },
        { id: 'no-delete', effect: 'deny', issuer: 'https://i.example', grants: [{ repository: 't/**', actions: ['delete'] }] },
      ],
    };
    const d = modelEvaluate(doc, { identity: { issuer: 'https://i.example', claims: {} }, scopes: parseScopes(['repository:t/a:*', 'repository:u/a:pull']), service: 's' });
    expect(d).toEqual({
      access: [
        { type: 'repository', name: 't/a', actions: ['pull', 'push'] },
        { type: 'repository', name: 'u/a', actions: [] },
      ],
      matchedRules: ['all', 'no-delete'],
      tokenLifetime: 3600,
    });
  });
});
