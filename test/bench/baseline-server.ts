/**
 * The architecture's limit: the least work a token request can take on this stack. Bare Koa and
 * @koa/router on the same kind of listener as the broker: parse Basic, verify the RS256 ID token
 * with node:crypto on a KeyObject imported once, a trivial policy (the repository must sit under
 * the token's repository_owner), sign an ES256 token (raw r||s). No logging, no metrics, no
 * validation library. With --store redis every GET marks the token's jti used (one SET NX), and a
 * refresh grant is one GET of the hashed refresh token. Run:
 *   node baseline-server.mjs --port N --jwks file [--store memory|redis --redis-url redis://…]
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import Router from '@koa/router';
import getRawBody from 'raw-body';
import { Redis } from 'ioredis';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    jwks: { type: 'string' },
    store: { type: 'string', default: 'memory' },
    'redis-url': { type: 'string' },
  },
});
if (!args.port || !args.jwks) throw new Error('--port and --jwks are required');

const verifyKeys = new Map<string, KeyObject>();
for (const jwk of (JSON.parse(readFileSync(args.jwks, 'utf8')) as { keys: Record<string, unknown>[] }).keys) {
  if (typeof jwk.kid === 'string') verifyKeys.set(jwk.kid, createPublicKey({ key: jwk as never, format: 'jwk' }));
}
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signOptions = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
const encodedHeader = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256', kid: 'baseline' })).toString('base64url');

const redis = args.store === 'redis' ? new Redis(args['redis-url'] ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: false }) : null;
const usedInMemory = new Set<string>();
const sessionsInMemory = new Map<string, string>();

/** One single-use mark: true the first time `key` is seen. */
async function firstUse(key: string): Promise<boolean> {
  if (redis) return (await redis.set(`baseline:used:${key}`, '1', 'EX', 3600, 'NX')) === 'OK';
  if (usedInMemory.has(key)) return false;
  usedInMemory.add(key);
  return true;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function verifyIdToken(token: string): Record<string, unknown> {
  const [h, p, s] = token.split('.');
  if (h === undefined || p === undefined || s === undefined) throw new HttpError(401, 'malformed');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { kid?: string };
  const key = verifyKeys.get(header.kid ?? '');
  if (!key || !verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) throw new HttpError(401, 'bad signature');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (typeof payload.exp !== 'number' || payload.exp * 1000 <= Date.now()) throw new HttpError(401, 'expired');
  return payload;
}

/** The trivial policy: every requested action on repositories under the token's owner. */
function access(owner: string, scopes: string[]): { type: string; name: string; actions: string[] }[] {
  return scopes.map((scope) => {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    const name = scope.slice(first + 1, last);
    return { type: scope.slice(0, first), name, actions: name.startsWith(`${owner}/`) ? scope.slice(last + 1).split(',') : [] };
  });
}

function issue(subject: string, owner: string, service: string, scopes: string[]): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: 'baseline', sub: subject, aud: service, exp: now + 300, nbf: now, iat: now, jti: randomBytes(12).toString('base64url'), access: access(owner, scopes) };
  const input = `${encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const token = `${input}.${sign('sha256', Buffer.from(input), signOptions).toString('base64url')}`;
  return { token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() };
}

interface Session {
  sub: string;
  owner: string;
  service: string;
}

const hashOf = (token: string): string => createHash('sha256').update(token).digest('base64url');

async function newRefreshToken(session: Session): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const value = JSON.stringify(session);
  if (redis) await redis.set(`baseline:rt:${hashOf(token)}`, value, 'EX', 3600);
  else sessionsInMemory.set(hashOf(token), value);
  return token;
}

async function lookUpRefreshToken(token: string): Promise<Session | null> {
  const raw = redis ? await redis.get(`baseline:rt:${hashOf(token)}`) : (sessionsInMemory.get(hashOf(token)) ?? null);
  return raw === null ? null : (JSON.parse(raw) as Session);
}

const router = new Router();
router.get('/healthz', (ctx) => {
  ctx.body = { status: 'ok' };
});
router.get('/token', async (ctx) => {
  const params = ctx.URL.searchParams;
  const auth = ctx.get('authorization');
  if (!auth.startsWith('Basic ')) throw new HttpError(401, 'no credentials');
  const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  const payload = verifyIdToken(decoded.slice(decoded.indexOf(':') + 1));
  if (redis && !(await firstUse(String(payload.jti)))) throw new HttpError(401, 'token already used');
  const owner = String(payload.repository_owner);
  const service = params.get('service') ?? '';
  const body = issue(String(payload.sub), owner, service, params.getAll('scope'));
  if (params.get('offline_token') === 'true') body.refresh_token = await newRefreshToken({ sub: String(payload.sub), owner, service });
  ctx.body = body;
});
router.post('/token', async (ctx) => {
  const form = new URLSearchParams(await getRawBody(ctx.req, { limit: 65536, encoding: 'utf8' }));
  const service = form.get('service') ?? '';
  const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
  const grant = form.get('grant_type');
  if (grant === 'refresh_token') {
    const session = await lookUpRefreshToken(form.get('refresh_token') ?? '');
    if (!session || session.service !== service) throw new HttpError(400, 'unknown refresh token');
    ctx.body = issue(session.sub, session.owner, service, scopes);
    return;
  }
  if (grant === 'urn:ietf:params:oauth:grant-type:token-exchange') {
    const payload = verifyIdToken(form.get('subject_token') ?? '');
    if (!(await firstUse(String(payload.jti)))) throw new HttpError(400, 'token already exchanged');
    ctx.body = issue(String(payload.sub), String(payload.repository_owner), service, scopes);
    return;
  }
  throw new HttpError(400, 'unsupported grant');
});

const app = new Koa();
app.use(async (ctx, next) => {
  try {
    await next();
  } catch (err) {
    ctx.status = err instanceof HttpError ? err.status : 500;
    ctx.body = { errors: [{ code: 'DENIED', message: err instanceof Error ? err.message : 'error' }] };
  }
});
app.use(router.routes());
app.use(router.allowedMethods());

const server = app.listen(Number(args.port), '127.0.0.1');
server.keepAliveTimeout = 65_000;
const stop = (): void => {
  server.close();
  server.closeAllConnections();
  void redis?.quit();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
