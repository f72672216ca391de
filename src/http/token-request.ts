import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import {
  REQUESTED_TOKEN_TYPES,
  SUBJECT_TOKEN_TYPES,
  TOKEN_EXCHANGE,
  type Credential,
  type GetTokenRequest,
  type GrantType,
  type RequestedTokenType,
  type SubjectTokenType,
  type TokenRequest,
} from '../issuance/index.js';
import { HttpError, badRequest } from './errors.js';
import { queryOfTarget } from './request-target.js';

export const MAX_FORM_BYTES = 64 * 1024;
const MAX_FIELD = 16 * 1024;

/**
 * The edge schema of /token parameters: the fields read, each a string of at most MAX_FIELD
 * characters given at most once; meaning is checked by the service. One pass over the
 * parameters, no per-request objects beyond the result: this runs on every token request.
 */
const FIELDS = [
  'service',
  'account',
  'client_id',
  'offline_token',
  'access_type',
  'grant_type',
  'username',
  'password',
  'refresh_token',
  // RFC 8693 token exchange.
  'subject_token',
  'subject_token_type',
  'requested_token_type',
] as const;
type Field = (typeof FIELDS)[number];
type Fields = { [K in Field]?: string };
const KNOWN: ReadonlySet<string> = new Set(FIELDS);
const BASE64 = /^[A-Za-z0-9+/=]*$/;

/** Secrets a POST takes from its body only. */
const BODY_ONLY = ['password', 'subject_token', 'refresh_token'] as const;

const GRANTS: readonly GrantType[] = ['password', 'refresh_token', TOKEN_EXCHANGE];

const oneOf = <T extends string>(values: readonly T[], value: string): value is T => (values as readonly string[]).includes(value);

function validated(params: URLSearchParams): Fields {
  const out: Fields = {};
  for (const [key, value] of params) {
    if (!KNOWN.has(key)) continue;
    const name = key as Field;
    if (out[name] !== undefined) throw badRequest(`"${name}" is given ${params.getAll(name).length} times`);
    if (value.length > MAX_FIELD) throw badRequest(`"${name}" is longer than ${MAX_FIELD} characters`);
    out[name] = value;
  }
  return out;
}

/**
 * Parses `Authorization: Basic …`. A present but unusable header is a 401, never an
 * anonymous token: a registry accepts an anonymous token for `GET /v2/`, so
 * `docker login` would report success with credentials that do nothing.
 */
export function parseBasicAuth(header: string | undefined): Credential {
  if (header === undefined || header === '') return { kind: 'none' };
  // `Basic` (any case), one or more spaces, base64, optional trailing spaces. Scanned by hand:
  // a regular expression over a 1-2 KB header cost more than the rest of parsing.
  let start = 5;
  while (header.charCodeAt(start) === 0x20) start += 1;
  let end = header.length;
  while (end > start && header.charCodeAt(end - 1) === 0x20) end -= 1;
  const encoded = header.slice(start, end);
  const bytes = Buffer.from(encoded, 'base64');
  // Canonical base64 (what clients send) encodes back to itself, a native round trip; anything
  // else is held to the character set, as a regular expression over 1-2 KB costs more.
  const valid = bytes.toString('base64') === encoded || BASE64.test(encoded);
  if (start === 5 || header.slice(0, 5).toLowerCase() !== 'basic' || !valid) {
    throw new HttpError('unauthorized', 'unsupported Authorization header: use Basic with the ID token as the password');
  }
  const decoded = bytes.toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new HttpError('unauthorized', 'malformed Basic credentials');
  return { kind: 'password', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function scopesOf(params: URLSearchParams): string[] {
  const scopes = params.getAll('scope');
  for (const s of scopes) if (s.length > MAX_FIELD) throw badRequest(`"scope" is longer than ${MAX_FIELD} characters`);
  return scopes;
}

/** A GET /token: `target` is the request target in origin form, `authorization` its header. */
export function parseGetRequest(target: string, authorization: string | undefined, clientIp: string): GetTokenRequest {
  const params = queryOfTarget(target);
  const f = validated(params);
  return {
    method: 'GET',
    service: f.service,
    scopes: scopesOf(params),
    ...(f.account !== undefined ? { account: f.account } : {}),
    ...(f.client_id !== undefined ? { clientId: f.client_id } : {}),
    offline: f.offline_token === 'true',
    credential: parseBasicAuth(authorization),
    clientIp,
  };
}

/** `application/x-www-form-urlencoded`, any case, parameters (charset) allowed; what ctx.is() answers without parsing a media type per request. */
export function isFormBody(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** A POST /token: the form is read from `req`; `target` is its request target in origin form. */
export async function parsePostRequest(req: IncomingMessage, target: string, clientIp: string): Promise<TokenRequest> {
  if (!isFormBody(req.headers['content-type'] ?? '')) {
    throw new HttpError('unsupported_media_type', 'POST /token takes an application/x-www-form-urlencoded body');
  }
  let text: string;
  try {
    text = await getRawBody(req, { limit: MAX_FORM_BYTES, encoding: 'utf8', length: req.headers['content-length'] || undefined });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw new HttpError('payload_too_large', `form body larger than ${MAX_FORM_BYTES} bytes`);
    throw badRequest('cannot read the request body');
  }
  // URLSearchParams decodes "+" as a space: docker joins several scopes with spaces in one field.
  const form = new URLSearchParams(text);
  // c/image copies realm query parameters into the body; accept them from either place,
  // except credentials: proxies and access logs record URLs.
  const query = queryOfTarget(target);
  for (const name of BODY_ONLY) {
    if (query.has(name)) throw badRequest(`"${name}" must be sent in the form body, never in the URL`);
  }
  for (const [k, v] of query) if (!form.has(k)) form.append(k, v);
  const f = validated(form);

  const grantType = f.grant_type;
  if (grantType === undefined) throw badRequest('"grant_type" is required');
  if (!oneOf(GRANTS, grantType)) throw new HttpError('unsupported_grant', `unsupported grant_type ${JSON.stringify(grantType.slice(0, 100))}`);
  const common = {
    method: 'POST' as const,
    service: f.service,
    scopes: scopesOf(form),
    ...(f.account !== undefined ? { account: f.account } : {}),
    ...(f.client_id !== undefined ? { clientId: f.client_id } : {}),
    clientIp,
  };

  switch (grantType) {
    case 'password': {
      const credential: Credential =
        f.password !== undefined ? { kind: 'password', username: f.username ?? '', password: f.password } : parseBasicAuth(req.headers.authorization || undefined);
      if (credential.kind !== 'password') throw badRequest('grant_type=password needs "username" and "password"');
      return { ...common, grantType, offline: f.access_type === 'offline', credential };
    }
    case 'refresh_token':
      if (!f.refresh_token) throw badRequest('grant_type=refresh_token needs "refresh_token"');
      return { ...common, grantType, refreshToken: f.refresh_token };
    case TOKEN_EXCHANGE: {
      if (!f.subject_token) throw badRequest('token exchange needs "subject_token"');
      const subjectTokenType = f.subject_token_type ?? '';
      if (!oneOf<SubjectTokenType>(SUBJECT_TOKEN_TYPES, subjectTokenType)) {
        throw badRequest(`"subject_token_type" must be one of ${SUBJECT_TOKEN_TYPES.join(', ')}`);
      }
      const requested = f.requested_token_type;
      if (requested !== undefined && !oneOf<RequestedTokenType>(REQUESTED_TOKEN_TYPES, requested)) {
        throw badRequest(`"requested_token_type" must be one of ${REQUESTED_TOKEN_TYPES.join(', ')}`);
      }
      return { ...common, grantType, subjectToken: f.subject_token, subjectTokenType, ...(requested !== undefined ? { requestedTokenType: requested } : {}) };
    }
  }
}
