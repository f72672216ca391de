import type Router from '@koa/router';
import { readJsonObject } from './json-body.js';
import { z } from 'zod';
import { parseScopes } from '../registry/index.js';
import { badRequest } from './errors.js';
import { formatExplanation, identityFromClaims, type CompiledPolicy } from '../policy/index.js';
import { bearerGuard } from './admin-auth.js';

export interface AdminExplainDeps {
  policy: () => CompiledPolicy;
  /** Bearer credential of the admin endpoints. */
  token: string;
  defaultService: string;
}

const MAX_BODY = 64 * 1024;

const explainRequest = z.strictObject({
  issuer: z.string().min(1).optional(),
  anonymous: z.boolean().optional(),
  claims: z.record(z.string(), z.unknown()).default({}),
  scopes: z.array(z.string().max(512)).max(64).default([]),
  service: z.string().min(1).optional(),
  clientIp: z.string().min(1).max(64).optional(),
});

/**
 * POST /admin/explain: the decision trace `portcullis policy explain` prints,
 * against the policy the broker is running right now (after reloads).
 */
export function mountAdminExplain(router: Router, deps: AdminExplainDeps): void {
  const guard = bearerGuard(deps.token);
  router.post('/admin/explain', async (ctx) => {
    guard(ctx);
    const parsed = explainRequest.safeParse(await readJsonObject(ctx, MAX_BODY));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badRequest(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
    }
    const body = parsed.data;
    let identity;
    try {
      identity = body.anonymous === true ? null : identityFromClaims(body.claims, body.issuer);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    const policy = deps.policy();
    const explanation = policy.explain({
      identity,
      scopes: parseScopes(body.scopes),
      service: body.service ?? deps.defaultService,
      ...(body.clientIp !== undefined ? { clientIp: body.clientIp } : {}),
    });
    ctx.body = { policyVersion: policy.version, ...explanation, text: formatExplanation(explanation) };
  });
}
