import type { AccessEntry, ResourceScope } from '../../registry/index.js';
import type { Identity } from '../../identity/types.js';

export interface PolicyRequest {
  /** null for an anonymous request (no credentials at all). */
  readonly identity: Identity | null;
  readonly scopes: readonly ResourceScope[];
  /** The `service` (token audience) the request is for. */
  readonly service: string;
  readonly clientIp?: string;
}

export interface Decision {
  /** One entry per requested resource (merged), actions = requested ∩ granted. */
  readonly access: AccessEntry[];
  /** Ids of the rules that contributed a grant or a denial. */
  readonly matchedRules: readonly string[];
  /** Bearer token lifetime in seconds when a matching rule caps it. */
  readonly tokenLifetime?: number;
  /** Allow rules whose conditions hold for this identity, whether or not they granted a requested scope. */
  readonly applyingRules?: readonly string[];
  /** Session (refresh token) lifetime cap in seconds: the smallest `refreshLifetime` of the applying rules. */
  readonly refreshLifetime?: number;
}

/** A compiled policy: a pure function from request to decision. */
export interface Policy {
  /** Content hash of the source, for logs and metrics. */
  readonly version: string;
  evaluate(request: PolicyRequest): Decision;
}
