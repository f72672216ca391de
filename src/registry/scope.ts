import { PortcullisError } from '../lib/index.js';

/**
 * One requested resource scope, as defined by distribution's docs/spec/auth/scope.md:
 *   scope := resourcetype ":" resourcename ":" action ("," action)*
 * The name may start with "host[:port]/", so it can itself contain one ":".
 */
export interface ResourceScope {
  /** Resource type without class, e.g. "repository" for "repository(plugin)". */
  readonly type: string;
  /** Optional class from "type(class)"; never written back into tokens. */
  readonly class?: string;
  readonly name: string;
  /** Distinct, non-empty actions in request order. May contain "*". */
  readonly actions: readonly string[];
}

export const MAX_SCOPE_LENGTH = 512;
export const MAX_SCOPES_PER_REQUEST = 64;

const TYPE_RE = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
const ACTION_RE = /^(?:[a-z]+|\*)$/;

// distribution/reference grammar. Path components are lower case; a leading
// domain (with optional port) may carry upper case and dots.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?)`;
export const REPOSITORY_PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const REPOSITORY_NAME_RE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
/** Maximum repository name length enforced by distribution. */
export const MAX_REPOSITORY_NAME_LENGTH = 255;
const PATH_COMPONENT_RE = new RegExp(`^${PATH_COMPONENT}$`);

/** A `scope` parameter that does not follow the grammar; the message names it. */
export class ScopeError extends PortcullisError<'invalid_scope'> {
  override readonly name = 'ScopeError';
  constructor(
    readonly scope: string,
    reason: string,
  ) {
    super('invalid_scope', `invalid scope ${JSON.stringify(truncate(scope))}: ${reason}`);
  }
}

function truncate(s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

/** True when `name` is a valid repository name (optionally host-prefixed). */
export function isRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_REPOSITORY_NAME_LENGTH && REPOSITORY_NAME_RE.test(name);
}

/** True when `value` is a single repository path component (no "/"). */
export function isPathComponent(value: string): boolean {
  return value.length > 0 && value.length <= MAX_REPOSITORY_NAME_LENGTH && PATH_COMPONENT_RE.test(value);
}

export function parseScope(raw: string): ResourceScope {
  if (raw.length > MAX_SCOPE_LENGTH) throw new ScopeError(raw, `longer than ${MAX_SCOPE_LENGTH} characters`);
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first < 0 || first === last) throw new ScopeError(raw, 'expected "type:name:actions"');
  const typePart = raw.slice(0, first);
  const name = raw.slice(first + 1, last);
  const actionPart = raw.slice(last + 1);

  const typeMatch = TYPE_RE.exec(typePart);
  if (!typeMatch) throw new ScopeError(raw, `resource type ${JSON.stringify(typePart)} must match [a-z0-9]+ with an optional (class)`);
  const type = typeMatch[1] as string;
  const cls = typeMatch[2];

  if (name.length === 0) throw new ScopeError(raw, 'resource name is empty');
  if (type === 'repository') {
    if (!isRepositoryName(name)) throw new ScopeError(raw, `${JSON.stringify(truncate(name))} is not a valid repository name`);
  } else if (!/^[^\s,]+$/.test(name)) {
    throw new ScopeError(raw, 'resource name contains white space or ","');
  }

  const actions: string[] = [];
  for (const action of actionPart.split(',')) {
    if (action === '') continue; // clients may send "pull,," or a trailing comma
    if (!ACTION_RE.test(action)) throw new ScopeError(raw, `action ${JSON.stringify(truncate(action))} must be lower-case letters or "*"`);
    if (!actions.includes(action)) actions.push(action);
  }
  return cls === undefined ? { type, name, actions } : { type, class: cls, name, actions };
}

/**
 * Parses every scope value of a request. Each value may itself hold several
 * space-separated scopes (docker's POST form does that; c/image repeats the field).
 */
export function parseScopes(values: readonly string[]): ResourceScope[] {
  const scopes: ResourceScope[] = [];
  for (const value of values) {
    for (const part of value.split(' ')) {
      if (part === '') continue;
      if (scopes.length >= MAX_SCOPES_PER_REQUEST) {
        throw new ScopeError(part, `more than ${MAX_SCOPES_PER_REQUEST} scopes in one request`);
      }
      scopes.push(parseScope(part));
    }
  }
  return scopes;
}

/** Canonical string form, as used in the POST response's `scope` field. */
export function formatScope(s: { type: string; name: string; actions: readonly string[] }): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}
