/**
 * How each scenario talks to a server: a probe that checks the server really grants what is
 * asked (a 200 with an empty `access` would make the numbers meaningless) or reports the grant as
 * not implemented, and the autocannon request shape for the run.
 */
import type { Client, Request } from 'autocannon';
import type { BenchRequest } from './fixtures.js';
import { SERVICE } from './fixtures.js';
import type { LoadShape } from './load.js';

export const FORM = 'application/x-www-form-urlencoded';
export const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

export class NotImplemented extends Error {}

interface TokenBody {
  token?: string;
  refresh_token?: string;
  errors?: { code?: string; message?: string }[];
}

function accessOf(jwt: string): { type: string; name: string; actions: string[] }[] {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { access?: unknown };
  return Array.isArray(payload.access) ? (payload.access as { type: string; name: string; actions: string[] }[]) : [];
}

/** Throws unless `body.token` grants every action of `scope`. */
function assertGranted(body: TokenBody, scope: string, what: string): void {
  const [type, name, actions] = [scope.slice(0, scope.indexOf(':')), scope.slice(scope.indexOf(':') + 1, scope.lastIndexOf(':')), scope.slice(scope.lastIndexOf(':') + 1)];
  const entry = body.token ? accessOf(body.token).find((a) => a.type === type && a.name === name) : undefined;
  const missing = actions.split(',').filter((a) => !entry?.actions.includes(a));
  if (missing.length) throw new Error(`${what}: token does not grant ${missing.join(',')} on ${scope}; the benchmark policy and tokens disagree`);
}

async function call(url: string, init: RequestInit): Promise<{ status: number; body: TokenBody }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: TokenBody = {};
  try {
    body = JSON.parse(text) as TokenBody;
  } catch {
    // non-JSON error page: status says enough
  }
  return { status: res.status, body };
}

function unsupported(r: { status: number; body: TokenBody }): boolean {
  return r.status === 400 && (r.body.errors ?? []).some((e) => e.code === 'UNSUPPORTED');
}

export async function probeGet(base: string, req: BenchRequest): Promise<void> {
  const r = await call(`${base}${req.path}`, { headers: { authorization: req.authorization } });
  if (r.status !== 200) throw new Error(`GET /token probe: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  assertGranted(r.body, req.scope, 'GET /token probe');
}

/** Every request carries the next token of the pool (shared counter across connections). */
export function freshGet(pool: readonly BenchRequest[]): LoadShape {
  let next = 0;
  const request: Request = {
    method: 'GET',
    setupRequest: (req) => {
      const r = pool[next++ % pool.length] as BenchRequest;
      return { ...req, path: r.path, headers: { authorization: r.authorization } };
    },
  };
  return { requests: [request] };
}

export function repeatedGet(req: BenchRequest): LoadShape {
  return { requests: [{ method: 'GET', path: req.path, headers: { authorization: req.authorization } }] };
}

function refreshForm(refreshToken: string, scope: string): string {
  return new URLSearchParams({ grant_type: 'refresh_token', service: SERVICE, client_id: 'bench', scope, refresh_token: refreshToken }).toString();
}

/**
 * One refresh-token chain per connection: each response's (rotated) refresh token is the next
 * request's. Chains are kept in `slots` so warm-up and measured runs continue the same chains.
 * Throws NotImplemented when the server does not issue or accept refresh tokens.
 */
export async function refreshChains(base: string, seeds: readonly BenchRequest[], connections: number): Promise<LoadShape> {
  const slots: { token: string; scope: string }[] = [];
  for (const seed of seeds.slice(0, connections + 1)) {
    const r = await call(`${base}${seed.path}&offline_token=true&client_id=bench`, { headers: { authorization: seed.authorization } });
    if (r.status !== 200) throw new Error(`GET offline_token=true probe: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    if (!r.body.refresh_token) throw new NotImplemented('GET offline_token=true returns no refresh_token');
    slots.push({ token: r.body.refresh_token, scope: seed.scope });
  }
  const probe = slots.pop() as { token: string; scope: string };
  const r = await call(`${base}/token`, { method: 'POST', headers: { 'content-type': FORM }, body: refreshForm(probe.token, probe.scope) });
  if (unsupported(r)) throw new NotImplemented('POST grant_type=refresh_token answers 400 UNSUPPORTED');
  if (r.status !== 200) throw new Error(`refresh probe: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  assertGranted(r.body, probe.scope, 'refresh probe');

  let seq = 0;
  return {
    setupClient: (client: Client) => {
      const slot = slots[seq++ % slots.length] as { token: string; scope: string };
      client.setRequests([
        {
          method: 'POST',
          path: '/token',
          headers: { 'content-type': FORM },
          setupRequest: (req) => ({ ...req, body: refreshForm(slot.token, slot.scope) }),
          onResponse: (status, body) => {
            if (status !== 200) return;
            const next = (JSON.parse(body) as TokenBody).refresh_token;
            if (next) slot.token = next;
          },
        },
      ]);
    },
  };
}

function exchangeForm(req: BenchRequest): string {
  return new URLSearchParams({
    grant_type: EXCHANGE_GRANT,
    subject_token: req.idToken,
    subject_token_type: ID_TOKEN_TYPE,
    service: SERVICE,
    scope: req.scope,
  }).toString();
}

/**
 * Token exchange of a never-presented ID token per request (`take` hands out the next one; an
 * exchange may spend its subject token). Throws NotImplemented when the grant is absent.
 */
export async function exchange(base: string, take: () => BenchRequest): Promise<LoadShape> {
  const probeWith = take();
  const r = await call(`${base}/token`, { method: 'POST', headers: { 'content-type': FORM }, body: exchangeForm(probeWith) });
  if (unsupported(r)) throw new NotImplemented('POST grant_type=token-exchange answers 400 UNSUPPORTED');
  if (r.status !== 200) throw new Error(`token exchange probe: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  assertGranted(r.body, probeWith.scope, 'token exchange probe');
  return {
    requests: [
      {
        method: 'POST',
        path: '/token',
        headers: { 'content-type': FORM },
        setupRequest: (req) => ({ ...req, body: exchangeForm(take()) }),
      },
    ],
  };
}
