import type Router from '@koa/router';
import { queryOf } from './request-target.js';
import { readJsonObject } from './json-body.js';
import type { SessionFilter, SessionService } from '../sessions/index.js';
import { badRequest } from './errors.js';
import { bearerGuard } from './admin-auth.js';

export interface AdminSessionsDeps {
  sessions: SessionService;
  /** The configured bearer credential. */
  token: string;
}

const MAX_BODY = 16 * 1024;
const FILTER_KEYS = ['id', 'subject', 'issuer', 'rule', 'token'] as const;

function filterOf(source: Record<string, unknown>): SessionFilter {
  const filter: { -readonly [K in keyof SessionFilter]: SessionFilter[K] } = {};
  for (const key of FILTER_KEYS) {
    const v = source[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '' || v.length > 1024) throw badRequest(`"${key}" must be a non-empty string`);
    filter[key] = v;
  }
  if (source.all === true || source.all === 'true') filter.all = true;
  if (Object.keys(filter).length === 0) throw badRequest('give at least one of id, subject, issuer, rule, token, or all=true');
  return filter;
}

/**
 * GET /admin/sessions?subject=…&issuer=…&rule=…&id=…  → { sessions: [...] }
 * POST /admin/sessions/revoke  JSON {subject|issuer|rule|id|token|all}  → { revoked: n }
 * Off unless configured; a refresh token to revoke travels in the body, never the URL.
 */
export function mountAdminSessions(router: Router, deps: AdminSessionsDeps): void {
  // Constant-time compare of SHA-256 digests (admin-auth.ts).
  const guard = bearerGuard(deps.token);

  router.get('/admin/sessions', async (ctx) => {
    guard(ctx);
    const query: Record<string, unknown> = {};
    for (const [k, v] of queryOf(ctx)) query[k] = v;
    if ('token' in query) throw badRequest('send a refresh token in a POST body, not in the URL');
    const filter = filterOf(Object.keys(query).length ? query : { all: true });
    ctx.body = { sessions: await deps.sessions.list(filter) };
  });

  router.post('/admin/sessions/revoke', async (ctx) => {
    guard(ctx);
    const filter = filterOf(await readJsonObject(ctx, MAX_BODY));
    ctx.body = { revoked: await deps.sessions.revoke(filter) };
  });
}
