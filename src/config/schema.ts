import { z } from 'zod';
import { parseIpRange } from '../lib/index.js';

const isProxyRange = (value: string): boolean => {
  try {
    parseIpRange(value);
    return true;
  } catch {
    return false;
  }
};

/**
 * The configuration file's schema. Every default that matters for security is
 * explicit here so `portcullis config check` can print the effective values.
 */

/** Secrets never sit in the file itself: they come from an environment variable or a file. */
export const secretRef = z
  .union([z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })])
  .describe('a secret: { env: VAR_NAME } or { file: /path/to/secret }');
export type SecretRef = z.infer<typeof secretRef>;

const url = z.url({ protocol: /^https?$/ });

const signingKey = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).describe('a name for logs and `keys show`'),
  alg: z.enum(['ES256', 'RS256']).default('ES256'),
  privateKey: secretRef.describe('PEM private key (PKCS#8, SEC1 or PKCS#1)'),
  certificateFile: z.string().min(1).optional().describe('PEM certificate for this key (x5c and rootcertbundle); generated when absent'),
  kid: z.string().min(1).max(256).optional().describe('explicit kid, e.g. to match a distribution 3.x jwks file'),
  active: z.boolean().optional(),
});

const issuerEntry = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  issuer: z
    .string()
    .min(1)
    .refine((v) => /^https?:\/\/[^\s]+$/.test(v), 'must be an http(s) URL (wildcard "*" segments allowed)'),
  audiences: z.array(z.string().min(1)).min(1).describe('required: the `aud` values this broker accepts from this issuer'),
  algorithms: z
    .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
    .min(1)
    .default(['RS256', 'ES256']),
  maxTokenAge: z.number().int().positive().optional().describe('seconds since `iat` after which a token is refused'),
  clockSkew: z.number().int().min(0).max(300).default(60),
  jwksUri: url.optional(),
  jwks: z
    .strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) })
    .optional()
    .describe('static JWKS for air-gapped issuers: no network at all'),
  allowedTypes: z
    .array(z.string().min(1))
    .default([])
    .describe('`typ` header values accepted besides none and JWT; e.g. at+jwt marks an access token, refused unless listed'),
  authorizedParties: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('accepted `azp` values (default: the audiences); a token naming audiences besides ours must carry one'),
  maxTokenLifetime: z.number().int().positive().default(86_400).describe('seconds; refuse tokens whose exp - iat is longer'),
  jwksMaxStale: z
    .number()
    .int()
    .positive()
    .default(86_400)
    .describe('seconds past the 10 min key cache during which keys are still used while refetching fails'),
  exchangeOnly: z
    .boolean()
    .default(false)
    .describe('accept this issuer\'s ID tokens only through the RFC 8693 token exchange, not presented directly on /token'),
});

const redisNode = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

const store = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('memory'), maxEntries: z.number().int().positive().default(100_000) }),
  z.strictObject({
    type: z.literal('redis'),
    url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    sentinels: z.array(redisNode).min(1).optional(),
    sentinelName: z.string().min(1).optional(),
    cluster: z.array(redisNode).min(1).optional(),
    username: z.string().min(1).optional(),
    password: secretRef.optional(),
    tls: z
      .strictObject({
        caFile: z.string().optional(),
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        servername: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .optional(),
    keyPrefix: z.string().default('portcullis:'),
    commandTimeoutMs: z.number().int().positive().max(10_000).default(500),
  }),
]);

// ---- sessions (refresh tokens, token exchange, single use, rate limits) ----
const limit = (points: number, durationSec: number) =>
  z
    .strictObject({ points: z.number().int().positive().default(points), durationSec: z.number().int().min(1).max(86_400).default(durationSec) })
    .prefault({});

const sessions = z
  .strictObject({
    refreshTokens: z
      .strictObject({
        enabled: z.boolean().optional().describe('hand out refresh tokens; default on with a redis store, off with memory (a restart would lose them and log docker users out)'),
        workloadLifetime: z.number().int().min(60).max(30 * 86_400).default(3600).describe('seconds, sessions of workload identities'),
        personLifetime: z.number().int().min(60).max(30 * 86_400).default(43_200).describe('seconds, sessions of people'),
        personIssuers: z.array(z.string().min(1)).default([]).describe('issuer ids whose identities are people'),
        rotate: z.boolean().default(false).describe('new refresh token on each use, with reuse detection (docker and skopeo do not store new ones)'),
        maxPerIdentity: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(100)
          .describe('sessions one identity (issuer + subject) may hold; opening one more ends the one closest to expiry'),
      })
      .prefault({}),
    idTokens: z
      .strictObject({
        singleUse: z.boolean().default(false).describe('every directly presented ID token may be used once'),
        singleUseIssuers: z.array(z.string().min(1)).default([]).describe('issuer ids whose directly presented ID tokens are single use'),
        singleUseRules: z.array(z.string().min(1)).default([]).describe('rule ids whose match makes a directly presented ID token single use'),
      })
      .prefault({}),
    rateLimits: z
      .strictObject({
        enabled: z.boolean().default(true),
        onStoreFailure: z.enum(['open', 'closed']).default('open').describe('store down: let requests through unlimited (open) or answer 503 (closed)'),
        perIdentity: limit(300, 60),
        perIp: limit(1200, 60),
        perIssuer: limit(20_000, 60),
      })
      .prefault({}),
  })
  .prefault({});

// ---- login: people sign in with the company's OpenID provider (issue 12) ----
const loginProvider = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).describe('a name for pages, logs and `--provider`; also the issuer id of its identities'),
  name: z.string().min(1).max(100).optional().describe('shown on the sign-in pages; default the id'),
  issuer: z
    .string()
    .refine((v) => /^https:\/\/[^\s]+$/.test(v) || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/[^\s]*)?$/.test(v), 'must be an https URL (plain http only for loopback)')
    .describe("the provider's issuer URL exactly as in its tokens' `iss`"),
  clientId: z.string().min(1).max(512).describe('client id of the broker registered at the provider; the audience of its ID tokens'),
  clientSecret: secretRef.optional().describe('absent: a public client (PKCE only)'),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope is one word of printable ASCII'))
    .min(1)
    .default(['openid', 'email', 'profile'])
    .refine((s) => s.includes('openid'), 'must include "openid"'),
  nameClaims: z.array(z.string().min(1)).min(1).default(['name', 'preferred_username', 'email']).describe('claims tried in order for the display name'),
  groupsClaim: z.string().min(1).optional().describe('claim listing the groups, shown on the result page (e.g. groups)'),
  verifiedEmailClaim: z
    .string()
    .min(1)
    .default('email_verified')
    .describe('the claim that must be true for `email` to count (Entra ID: xms_edov); `email` is dropped otherwise'),
  authorizationParams: z
    .record(z.string().regex(/^[a-z_]{1,40}$/), z.string().max(200))
    .default({})
    .refine((p) => !['state', 'nonce', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'client_id', 'response_type', 'scope'].some((k) => k in p), 'may not set a parameter the flow sets itself')
    .describe("extra authorization request parameters, e.g. { hd: example.com } for Google, { prompt: select_account }"),
  algorithms: z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])).min(1).default(['RS256', 'ES256']),
  clockSkew: z.number().int().min(0).max(300).default(60),
});

const login = z
  .strictObject({
    brokerName: z.string().min(1).max(80).default('Portcullis').describe('shown on the sign-in pages'),
    providers: z.array(loginProvider).default([]).describe("the company's OpenID providers for people; empty: no sign-in pages"),
    registries: z
      .array(z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'host or host:port'))
      .default([])
      .describe('registries this broker serves (host[:port]), announced at /.well-known/portcullis for `portcullis login --configure`'),
    resultCodeLifetime: z.number().int().min(30).max(600).default(300).describe('seconds the one-time code on the result page stays valid'),
    browserSession: z
      .strictObject({
        lifetime: z.number().int().min(60).max(86_400).default(3600).describe('seconds a sign-in to the pages lasts'),
        secureCookie: z.enum(['auto', 'always', 'never']).default('auto').describe('auto: Secure when server.publicUrl is https'),
      })
      .prefault({}),
    device: z
      .strictObject({
        codeLifetime: z.number().int().min(5).max(1800).default(600).describe('seconds a device code waits for approval'),
        interval: z.number().int().min(1).max(60).default(5).describe('minimum seconds between polls'),
        maxUserCodeAttempts: z.number().int().min(1).max(100).default(5).describe('wrong user codes per person and per IP in attemptWindow'),
        attemptWindow: z.number().int().min(60).max(86_400).default(900),
      })
      .prefault({}),
  })
  .superRefine((l, ctx) => {
    const seen = new Set<string>();
    l.providers.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: ['providers', i, 'id'], message: `duplicate provider id ${JSON.stringify(p.id)}` });
      seen.add(p.id);
    });
  })
  .prefault({});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(5001),
      publicUrl: url.optional().describe('the URL clients reach the broker at; defaults to http://host:port'),
      trustProxy: z
        .boolean()
        .optional()
        .refine((v) => v !== true, {
          message:
            'replaced by server.trustedProxies: set { hops: <number of proxies in front> } and/or { cidrs: [<proxy ranges>] }; true took the leftmost X-Forwarded-For entry, which the client writes',
        })
        .describe('removed; only false is accepted (see server.trustedProxies)'),
      trustedProxies: z
        .strictObject({
          hops: z.number().int().min(1).max(10).optional().describe('how many proxies in front of the broker append to X-Forwarded-For'),
          cidrs: z
            .array(z.string().refine(isProxyRange, 'must be an IP address or CIDR range'))
            .min(1)
            .optional()
            .describe('addresses of those proxies; only hops from these ranges are believed'),
        })
        .refine((t) => t.hops !== undefined || t.cidrs !== undefined, 'give hops, cidrs or both')
        .optional()
        .describe('proxies whose X-Forwarded-For entries are believed, walking from the right; none by default'),
      maxHeaderBytes: z
        .number()
        .int()
        .min(8 * 1024)
        .max(1024 * 1024)
        .default(32 * 1024)
        .describe('largest request head (request line and headers) accepted; larger ones get 431 in the registry error format'),
      operator: z
        .strictObject({
          host: z.string().default('127.0.0.1'),
          port: z.number().int().min(0).max(65535),
        })
        .optional()
        .describe('a second listener for /metrics, /admin/* and detailed /readyz; when set they leave the public listener'),
      shutdown: z
        .strictObject({
          drainDelay: z
            .number()
            .min(0)
            .max(60)
            .default(2)
            .describe('seconds between SIGTERM (readiness turns false) and closing the listener, so load balancers stop sending first'),
          timeout: z.number().positive().max(300).default(10).describe('seconds after SIGTERM by which the process has exited, whatever is still in flight'),
        })
        .refine((s) => s.drainDelay < s.timeout, { message: 'drainDelay must be shorter than timeout', path: ['drainDelay'] })
        .prefault({}),
    })
    .prefault({}),
  token: z
    .strictObject({
      issuer: z.string().min(1).default('portcullis').describe("must equal the registry's auth.token.issuer"),
      services: z.array(z.string().min(1)).min(1).default(['dev-registry']).describe("accepted `service` values: the registry's auth.token.service"),
      lifetime: z.number().int().min(60).max(3600).default(300).describe('bearer token lifetime, seconds'),
    })
    .prefault({}),
  keys: z
    .strictObject({
      kidMode: z.enum(['libtrust', 'thumbprint', 'x5c']).default('libtrust'),
      signing: z.array(signingKey).min(1).optional().describe('when absent, a key is generated once in dataDir'),
      generatedAlg: z.enum(['ES256', 'RS256']).default('ES256'),
      privateKeyFiles: z
        .enum(['owner-only', 'group-readable', 'any'])
        .default('owner-only')
        .describe('permission bits a private-key file may have: owner-only (default), group-readable (e.g. Kubernetes secrets with fsGroup, 0440), any (no check)'),
    })
    .prefault({}),
  dataDir: z.string().min(1).default('.portcullis'),
  issuers: z.array(issuerEntry).default([]),
  policy: z
    .strictObject({
      file: z.string().min(1).optional().describe('policy YAML file or directory; the example policy when absent'),
      watch: z.boolean().default(true),
    })
    .prefault({}),
  store: store.default({ type: 'memory', maxEntries: 100_000 }),
  sessions,
  login,
  devIssuer: z
    .strictObject({
      enabled: z.boolean().default(false).describe('DEVELOPMENT ONLY: trust tokens minted by `portcullis dev token`'),
      audience: z.string().min(1).default('portcullis'),
    })
    .prefault({}),
  admin: z
    .strictObject({
      enabled: z.boolean().default(false).describe('serve the operator endpoints /admin/sessions and /admin/explain'),
      token: secretRef.optional().describe('bearer credential for /admin/*'),
    })
    .refine((a) => !a.enabled || a.token !== undefined, { message: 'token: required when the admin endpoints are enabled', path: ['token'] })
    .prefault({}),
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true).describe('serve Prometheus metrics at /metrics'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type IssuerEntry = z.infer<typeof issuerEntry>;
export type SigningKeyEntry = z.infer<typeof signingKey>;
export type StoreConfig = z.infer<typeof store>;
export type SessionsConfig = z.infer<typeof sessions>;
export type LoginConfig = z.infer<typeof login>;
export type LoginProviderEntry = z.infer<typeof loginProvider>;
