/** People's sign-in: configuration after validation, and the records kept in the Store. */

/** A company OpenID provider whose identities are people. */
export interface PeopleProvider {
  /** Also the issuer id of the verifier entry made for it (Identity.issuerId). */
  readonly id: string;
  /** Shown on the pages ("Sign in with …"). */
  readonly name: string;
  readonly issuer: string;
  readonly clientId: string;
  /** Absent for a public client (PKCE only). */
  readonly clientSecret?: string;
  readonly scopes: readonly string[];
  /** First present, non-empty string claim wins. */
  readonly nameClaims: readonly string[];
  readonly groupsClaim?: string;
  /** Extra authorization request parameters (Google's `hd`, `prompt`, …). */
  readonly authorizationParams: Readonly<Record<string, string>>;
}

export interface LoginSettings {
  /** Shown on every page. */
  readonly brokerName: string;
  readonly publicUrl: string;
  readonly providers: readonly PeopleProvider[];
  readonly services: readonly string[];
  readonly registries: readonly string[];
  /** Lifetime of the `pco_` code shown on the result page, seconds. */
  readonly resultCodeLifetimeSec: number;
  /** Lifetime of the code handed to the CLI over the loopback redirect, seconds. */
  readonly handoffCodeLifetimeSec: number;
  /** Browser sign-in with the provider must finish within this, seconds. */
  readonly flowLifetimeSec: number;
  readonly browserSessionLifetimeSec: number;
  readonly device: DeviceSettings;
}

export interface DeviceSettings {
  readonly codeLifetimeSec: number;
  readonly intervalSec: number;
  /** Wrong user codes a person (and an IP) may enter per window before being refused. */
  readonly maxUserCodeAttempts: number;
  readonly attemptWindowSec: number;
}

/** What the person's sign-in is for; decides where the callback continues. */
export type FlowPurpose =
  | { readonly kind: 'result' }
  | { readonly kind: 'sessions' }
  | { readonly kind: 'device'; readonly userCode?: string }
  | {
      readonly kind: 'cli';
      readonly redirectUri: string;
      readonly clientState: string;
      readonly codeChallenge: string;
    };

/** A sign-in in progress at the provider, stored under the hash of its `state`. */
export interface PendingFlow {
  readonly v: 1;
  readonly provider: string;
  readonly service: string;
  readonly codeVerifier: string;
  readonly nonce: string;
  /** SHA-256 of the flow cookie: the callback must come back to the browser that started it. */
  readonly browserBinding: string;
  readonly purpose: FlowPurpose;
  readonly createdAt: number;
}

/** An identity as carried through codes and device approvals (a verified Identity, serialised). */
export interface StoredIdentity {
  readonly issuer: string;
  readonly issuerId: string;
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly tokenHash: string;
  readonly expiresAt: number;
  readonly tokenId?: string;
}

/** Codes handed to the CLI over the loopback redirect. */
export interface HandoffPayload {
  readonly identity: StoredIdentity;
  readonly service: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
}

/** The `pco_` code of the result page: a password for /token, once. */
export interface RegistryCodePayload {
  readonly identity: StoredIdentity;
  readonly service: string;
}

export type DeviceStatus = 'pending' | 'approved' | 'denied';

export interface DeviceRecord {
  readonly v: 1;
  readonly clientId: string;
  readonly service: string;
  readonly provider: string;
  readonly userCode: string;
  readonly requestedFrom: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly status: DeviceStatus;
  readonly identity?: StoredIdentity;
}

/** What /login/token answers for a hand-off or an approved device. */
export interface LoginTokenBody {
  readonly refresh_token: string;
  readonly token_type: 'refresh';
  readonly expires_in: number;
  readonly subject: string;
  readonly issuer: string;
  readonly service: string;
  readonly name: string;
}
