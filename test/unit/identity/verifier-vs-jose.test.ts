/**
 * The broker's verifier (node:crypto) against jose's jwtVerify, given the same options: valid ID
 * tokens and mutations of them (header, payload, signature, key type, algorithm, times,
 * audiences, encodings) must get the same answer from both. The broker may refuse what jose
 * accepts only for a deliberate, stricter rule listed in STRICTER (and in docs/security.md,
 * "ID-token verification"); it must never accept what jose refuses.
 */
import { createHmac, createPrivateKey, generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, exportJWK, jwtVerify, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, IdentityError, type OidcVerifier } from '../../../src/identity/index.js';

const ISS = 'https://ci.example.com';
const AUD = 'portcullis';
const OTHER_AUD = 'https://other.example';
const SKEW = 60;
const NOW = 1_760_000_000;
const ALLOWED = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
const MAX_LIFETIME = 86_400;

type Natural = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';
interface TestKey {
  readonly name: string;
  readonly natural: Natural;
  readonly privateKey: KeyObject;
  /** The kid it is published under; undefined for a key published without kid. */
  readonly kid: string | undefined;
  /** Published in the JWKS at all. */
  readonly published: boolean;
}

const keys: TestKey[] = [];
let jwks: { keys: JWK[] };
let broker: OidcVerifier;

const noNetwork = (() => {
  throw new Error('network access in a static-JWKS test');
}) as unknown as typeof fetch;

async function publicJwkOf(key: TestKey, extra: Record<string, unknown>): Promise<JWK> {
  const jwk = (await exportJWK(key.privateKey)) as Record<string, unknown>;
  for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) delete jwk[member];
  return { ...jwk, ...(key.kid !== undefined ? { kid: key.kid } : {}), ...extra } as JWK;
}

beforeAll(async () => {
  const add = (name: string, natural: Natural, privateKey: KeyObject, kid: string | undefined, published = true): void => {
    keys.push({ name, natural, privateKey, kid, published });
  };
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  add('rsa', 'RS256', rsa, 'rsa');
  add('rsa-as-pss', 'PS256', rsa, 'rsa'); // one RSA JWK without alg serves RS256 and PS256
  add('pss', 'PS256', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'pss');
  add('p256', 'ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'p256');
  add('p256-no-kid', 'ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, undefined);
  add('p384', 'ES384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, 'p384');
  add('ed25519', 'EdDSA', generateKeyPairSync('ed25519').privateKey, 'ed25519');
  // Published but unusable or questionable: both must refuse their tokens.
  add('ed448', 'EdDSA', generateKeyPairSync('ed448').privateKey, 'ed448');
  add('rsa-1024', 'RS256', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, 'weak');
  add('odd-ext', 'ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'odd-ext');
  add('enc-use', 'ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'enc-use');
  // Never published; one reuses a published kid (a forgery with the wrong key).
  add('ghost', 'ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ghost', false);
  add('impostor', 'ES256', createPrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' })), 'p256', false);

  const extras: Record<string, Record<string, unknown>> = {
    pss: { alg: 'PS256' },
    p256: { alg: 'ES256', use: 'sig' },
    'odd-ext': { ext: 'yes' },
    'enc-use': { use: 'enc' },
  };
  const published = keys.filter((key) => key.published && key.name !== 'rsa-as-pss');
  jwks = { keys: await Promise.all(published.map((key) => publicJwkOf(key, extras[key.name] ?? {}))) };
  broker = createVerifier(
    [{ id: 'ci', issuer: ISS, audiences: [AUD], algorithms: ALLOWED, jwks, clockSkew: SKEW, maxTokenLifetime: MAX_LIFETIME }],
    { cache: false, fetch: noNetwork, now: () => NOW * 1000 },
  );
  await broker.ready();
});

// ---- building tokens -------------------------------------------------------------------

type Encoding = 'canonical' | 'padded' | 'whitespace' | 'non-canonical-bits' | 'plus-slash' | 'bom' | 'invalid-utf8';

interface Recipe {
  key: string;
  headerAlg: string | 'natural';
  kid: 'right' | 'absent' | 'wrong' | 'number';
  typ: 'absent' | 'JWT' | 'jwt' | 'application/jwt' | 'at+jwt' | 'JOSE' | 'number';
  crit: 'absent' | 'b64' | 'exp' | 'empty';
  iss: 'ours' | 'other' | 'absent' | 'number';
  sub: 'string' | 'empty' | 'absent' | 'number';
  aud: 'ours' | 'ours-array' | 'ours-and-other' | 'other' | 'absent' | 'empty-array' | 'number';
  azp: 'absent' | 'ours' | 'other' | 'number';
  exp: 'valid' | 'expired' | 'within-skew' | 'absent' | 'string' | 'milliseconds' | 'infinite' | 'fractional';
  nbf: 'absent' | 'past' | 'future' | 'within-skew' | 'string';
  iat: 'now' | 'absent' | 'future' | 'within-skew' | 'long-ago' | 'string';
  jti: 'string' | 'absent' | 'number';
  headerEncoding: Encoding;
  payloadEncoding: Encoding;
  signature: 'valid' | 'flipped' | 'truncated' | 'empty' | 'padded' | 'der' | 'hmac-with-public-key' | 'extra-segment';
}

/** The unmutated recipe: a valid ID token. */
const BASE: Recipe = {
  key: 'rsa',
  headerAlg: 'natural',
  kid: 'right',
  typ: 'JWT',
  crit: 'absent',
  iss: 'ours',
  sub: 'string',
  aud: 'ours',
  azp: 'absent',
  exp: 'valid',
  nbf: 'absent',
  iat: 'now',
  jti: 'string',
  headerEncoding: 'canonical',
  payloadEncoding: 'canonical',
  signature: 'valid',
};

const ENCODINGS: Encoding[] = ['canonical', 'padded', 'whitespace', 'non-canonical-bits', 'plus-slash', 'bom', 'invalid-utf8'];
/** Every value each field may take; a generated recipe changes a few fields of BASE. */
const VALUES: { [K in keyof Recipe]: readonly Recipe[K][] } = {
  key: ['rsa', 'rsa-as-pss', 'pss', 'p256', 'p256-no-kid', 'p384', 'ed25519', 'ed448', 'rsa-1024', 'odd-ext', 'enc-use', 'ghost', 'impostor'],
  headerAlg: ['natural', 'RS256', 'RS384', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'none', 'HS256', ''],
  kid: ['right', 'absent', 'wrong', 'number'],
  typ: ['absent', 'JWT', 'jwt', 'application/jwt', 'at+jwt', 'JOSE', 'number'],
  crit: ['absent', 'b64', 'exp', 'empty'],
  iss: ['ours', 'other', 'absent', 'number'],
  sub: ['string', 'empty', 'absent', 'number'],
  aud: ['ours', 'ours-array', 'ours-and-other', 'other', 'absent', 'empty-array', 'number'],
  azp: ['absent', 'ours', 'other', 'number'],
  exp: ['valid', 'expired', 'within-skew', 'absent', 'string', 'milliseconds', 'infinite', 'fractional'],
  nbf: ['absent', 'past', 'future', 'within-skew', 'string'],
  iat: ['now', 'absent', 'future', 'within-skew', 'long-ago', 'string'],
  jti: ['string', 'absent', 'number'],
  headerEncoding: ENCODINGS,
  payloadEncoding: ENCODINGS,
  signature: ['valid', 'flipped', 'truncated', 'empty', 'padded', 'der', 'hmac-with-public-key', 'extra-segment'],
};
const FIELDS = Object.keys(VALUES) as (keyof Recipe)[];

/** A key (any), then zero to three other fields changed from BASE. */
const recipeArb: fc.Arbitrary<Recipe> = fc
  .tuple(
    fc.constantFrom(...VALUES.key),
    fc.uniqueArray(fc.constantFrom(...FIELDS.filter((f) => f !== 'key')), { maxLength: 3 }),
    fc.record(Object.fromEntries(FIELDS.map((f) => [f, fc.constantFrom(...(VALUES[f] as string[]))])) as { [K in keyof Recipe]: fc.Arbitrary<Recipe[K]> }),
  )
  .map(([key, changed, values]) => {
    const recipe: Recipe = { ...BASE, key };
    for (const field of changed) (recipe as unknown as Record<string, string>)[field] = values[field] as string;
    return recipe;
  });

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** JSON text for a header or payload; `raw` entries are spliced in verbatim (e.g. 1e400). */
function jsonWith(value: Record<string, unknown>, raw: Record<string, string>): string {
  const members = Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  for (const [k, v] of Object.entries(raw)) members.push(`${JSON.stringify(k)}:${v}`);
  return `{${members.join(',')}}`;
}

function encodeSegment(json: string, encoding: Encoding): string {
  let bytes = Buffer.from(json, 'utf8');
  if (encoding === 'bom') bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
  if (encoding === 'invalid-utf8') {
    // An invalid byte inside a string member: a lenient decoder turns it into U+FFFD.
    const at = bytes.indexOf('"', 1);
    bytes = Buffer.concat([bytes.subarray(0, at + 1), Buffer.from([0xff]), bytes.subarray(at + 1)]);
  }
  let text = bytes.toString('base64url');
  switch (encoding) {
    case 'padded':
      text = text.length % 4 === 0 ? `${text}` : text.padEnd(text.length + (4 - (text.length % 4)), '=');
      break;
    case 'whitespace':
      text = `${text.slice(0, 8)} ${text.slice(8)}`;
      break;
    case 'non-canonical-bits':
      if (text.length % 4 !== 0) {
        const last = B64URL.indexOf(text.charAt(text.length - 1));
        text = text.slice(0, -1) + B64URL.charAt(last | 1);
      }
      break;
    case 'plus-slash':
      text = text.replaceAll('-', '+').replaceAll('_', '/');
      if (!/[+/]/.test(text)) text = `${text.slice(0, 4)}+${text.slice(5)}`;
      break;
    default:
      break;
  }
  return text;
}

function signWith(key: TestKey, alg: Natural, input: Buffer): Buffer {
  switch (alg) {
    case 'RS256':
      return sign('sha256', input, key.privateKey);
    case 'PS256':
      return sign('sha256', input, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
    case 'ES256':
      return sign('sha256', input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    case 'ES384':
      return sign('sha384', input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA':
      return sign(null, input, key.privateKey);
  }
}

interface Built {
  readonly token: string;
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly recipe: Recipe;
}

function build(recipe: Recipe): Built {
  const key = keys.find((k) => k.name === recipe.key);
  if (!key) throw new Error(recipe.key);
  const alg = recipe.headerAlg === 'natural' ? key.natural : recipe.headerAlg;
  const header: Record<string, unknown> = { alg };
  if (recipe.kid === 'right' && key.kid !== undefined) header.kid = key.kid;
  if (recipe.kid === 'wrong') header.kid = 'no-such-kid';
  if (recipe.kid === 'number') header.kid = 7;
  if (recipe.typ === 'number') header.typ = 1;
  else if (recipe.typ !== 'absent') header.typ = recipe.typ;
  if (recipe.crit === 'b64') Object.assign(header, { crit: ['b64'], b64: true });
  if (recipe.crit === 'exp') Object.assign(header, { crit: ['exp'], exp: NOW + 60 });
  if (recipe.crit === 'empty') header.crit = [];

  const raw: Record<string, string> = {};
  const payload: Record<string, unknown> = {
    iss: { ours: ISS, other: 'https://evil.example.com', absent: undefined, number: 1 }[recipe.iss],
    sub: { string: 'repo:octo-org/app:ref:refs/heads/main', empty: '', absent: undefined, number: 42 }[recipe.sub],
    aud: { ours: AUD, 'ours-array': [AUD], 'ours-and-other': [AUD, OTHER_AUD], other: OTHER_AUD, absent: undefined, 'empty-array': [], number: 5 }[recipe.aud],
    azp: { absent: undefined, ours: AUD, other: 'someone-else', number: 3 }[recipe.azp],
    iat: { now: NOW - 5, absent: undefined, future: NOW + SKEW + 30, 'within-skew': NOW + SKEW - 5, 'long-ago': NOW - 3_000, string: 'now' }[recipe.iat],
    nbf: { absent: undefined, past: NOW - 5, future: NOW + SKEW + 30, 'within-skew': NOW + SKEW, string: 'soon' }[recipe.nbf],
    jti: { string: 'id-1', absent: undefined, number: 9 }[recipe.jti],
  };
  const expValues: Record<Recipe['exp'], unknown> = {
    valid: NOW + 300,
    expired: NOW - SKEW - 1,
    'within-skew': NOW - SKEW + 1,
    absent: undefined,
    string: String(NOW + 300),
    milliseconds: (NOW + 300) * 1000,
    infinite: undefined,
    fractional: NOW + 300.5,
  };
  payload.exp = expValues[recipe.exp];
  if (recipe.exp === 'infinite') raw.exp = '1e400';

  const signingInput = `${encodeSegment(jsonWith(header, {}), recipe.headerEncoding)}.${encodeSegment(jsonWith(payload, raw), recipe.payloadEncoding)}`;
  let signature = signWith(key, key.natural, Buffer.from(signingInput));
  let encodedSignature: string;
  switch (recipe.signature) {
    case 'flipped':
      signature = Buffer.from(signature);
      signature[signature.length >> 1] = (signature[signature.length >> 1] ?? 0) ^ 0x01;
      encodedSignature = signature.toString('base64url');
      break;
    case 'truncated':
      encodedSignature = signature.subarray(0, signature.length - 1).toString('base64url');
      break;
    case 'empty':
      encodedSignature = '';
      break;
    case 'padded':
      encodedSignature = signature.toString('base64');
      encodedSignature = signature.toString('base64url') + '='.repeat(encodedSignature.length - encodedSignature.replace(/=+$/, '').length);
      break;
    case 'der':
      encodedSignature = (key.natural.startsWith('ES') ? sign(key.natural === 'ES256' ? 'sha256' : 'sha384', Buffer.from(signingInput), key.privateKey) : signature).toString('base64url');
      break;
    case 'hmac-with-public-key': {
      const secret = key.privateKey.export({ type: 'pkcs8', format: 'pem' });
      encodedSignature = createHmac('sha256', secret).update(signingInput).digest('base64url');
      break;
    }
    case 'extra-segment':
      encodedSignature = `${signature.toString('base64url')}.e30`;
      break;
    default:
      encodedSignature = signature.toString('base64url');
  }
  const parsedPayload = { ...payload, ...(recipe.exp === 'infinite' ? { exp: Infinity } : {}) };
  return { token: `${signingInput}.${encodedSignature}`, header, payload: parsedPayload, recipe };
}

// ---- the two verdicts --------------------------------------------------------------------

async function brokerVerdict(token: string): Promise<string> {
  try {
    await broker.verify(token);
    return 'accepted';
  } catch (error) {
    if (error instanceof IdentityError) return error.code;
    throw error;
  }
}

async function joseVerdict(token: string): Promise<string> {
  try {
    await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: ISS,
      audience: AUD,
      algorithms: ALLOWED,
      clockTolerance: SKEW,
      currentDate: new Date(NOW * 1000),
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    return 'accepted';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/**
 * Rules by which the broker is deliberately stricter than jwtVerify with these options: the
 * refusal codes each produces, and whether a token falls under it. docs/security.md
 * ("ID-token verification") lists the same rules with the reason for each.
 */
const STRICTER: Record<string, { codes: readonly string[]; applies: (built: Built) => boolean }> = {
  'explicit typing: typ other than absent or JWT': {
    codes: ['wrong_type', 'malformed'],
    applies: ({ header }) =>
      header.typ !== undefined && (typeof header.typ !== 'string' || !['jwt', 'application/jwt'].includes(header.typ.toLowerCase())),
  },
  'any crit header is refused': { codes: ['unsupported_alg'], applies: ({ header }) => header.crit !== undefined },
  'canonical base64url only (no padding, whitespace or stray bits)': {
    codes: ['malformed'],
    applies: ({ recipe }) =>
      [recipe.headerEncoding, recipe.payloadEncoding].some((e) => e === 'padded' || e === 'whitespace' || e === 'non-canonical-bits') ||
      recipe.signature === 'padded',
  },
  'a byte-order mark is not JSON': { codes: ['malformed'], applies: ({ recipe }) => recipe.headerEncoding === 'bom' || recipe.payloadEncoding === 'bom' },
  'azp: several audiences need an accepted azp; any azp must be accepted': {
    codes: ['wrong_authorized_party', 'malformed'],
    applies: ({ payload }) => payload.azp !== undefined || (Array.isArray(payload.aud) && payload.aud.some((a) => a !== AUD)),
  },
  'lifetime exp - iat at most maxTokenLifetime': {
    codes: ['lifetime_too_long'],
    applies: ({ payload }) => typeof payload.exp === 'number' && typeof payload.iat === 'number' && payload.exp - payload.iat > MAX_LIFETIME,
  },
  'iat in the future beyond the clock skew': {
    codes: ['issued_in_future'],
    applies: ({ payload }) => typeof payload.iat === 'number' && payload.iat > NOW + SKEW,
  },
  'sub must be a non-empty string': { codes: ['missing_claim'], applies: ({ payload }) => typeof payload.sub !== 'string' || payload.sub === '' },
  'jti must be a string': { codes: ['malformed'], applies: ({ payload }) => payload.jti !== undefined && typeof payload.jti !== 'string' },
  'times must be finite numbers': { codes: ['malformed'], applies: ({ payload }) => ['exp', 'nbf', 'iat'].some((c) => payload[c] === Infinity) },
};

/** The stricter rules that explain the broker refusing with `code`. */
function stricterRules(built: Built, code: string): string[] {
  return Object.entries(STRICTER)
    .filter(([, rule]) => rule.codes.includes(code) && rule.applies(built))
    .map(([name]) => name);
}

describe('the verifier against jose jwtVerify', () => {
  it('accepts and refuses the same generated tokens, except by the listed stricter rules', async () => {
    const tally = { bothAccept: 0, bothRefuse: 0, stricter: new Map<string, number>() };
    await fc.assert(
      fc.asyncProperty(recipeArb, async (recipe) => {
        const built = build(recipe);
        const [ours, theirs] = await Promise.all([brokerVerdict(built.token), joseVerdict(built.token)]);
        if (ours === 'accepted' && theirs === 'accepted') tally.bothAccept += 1;
        else if (ours !== 'accepted' && theirs !== 'accepted') tally.bothRefuse += 1;
        else {
          // The broker must never be the more lenient one.
          expect({ broker: ours, jose: theirs, recipe }).toMatchObject({ jose: 'accepted' });
          const rules = stricterRules(built, ours);
          expect({ broker: ours, rules, recipe }).toMatchObject({ rules: expect.arrayContaining([expect.any(String)]) });
          for (const rule of rules) tally.stricter.set(rule, (tally.stricter.get(rule) ?? 0) + 1);
        }
      }),
      { numRuns: Number(process.env.JOSE_DIFF_RUNS ?? 600) },
    );
    if (process.env.JOSE_DIFF_REPORT) console.log(JSON.stringify({ ...tally, stricter: Object.fromEntries(tally.stricter) }, null, 1));
    // Not vacuous: both outcomes occur in numbers.
    expect(tally.bothAccept).toBeGreaterThan(20);
    expect(tally.bothRefuse).toBeGreaterThan(100);
  }, 120_000);

  it('gives the same answer on the unmutated token for every key', async () => {
    for (const key of keys) {
      const built = build({ ...BASE, key: key.name });
      // p256-no-kid: a token without kid while two ES256 keys are published is ambiguous to both.
      const expected = ['rsa', 'rsa-as-pss', 'pss', 'p256', 'p384', 'ed25519'].includes(key.name) ? 'accepted' : 'refused';
      const verdicts = [await brokerVerdict(built.token), await joseVerdict(built.token)].map((v) => (v === 'accepted' ? v : 'refused'));
      expect({ key: key.name, verdicts }).toEqual({ key: key.name, verdicts: [expected, expected] });
    }
  });
});
