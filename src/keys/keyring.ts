import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  assertCertificateMatchesKey,
  chainToX5c,
  createSelfSignedCertificate,
  isCertificateValidAt,
  leafPem,
  parseCertificateChain,
} from './certificate.js';
import type { CertificateChain, CertificateOptions } from './certificate.js';
import { KeyError } from './errors.js';
import { publicJwk } from './jwk.js';
import { distributionThumbprint, jwkThumbprint, libtrustKeyId } from './kid.js';
import { assertKeyMatchesAlg, spkiDer } from './material.js';
import { createTokenSigner } from './signer.js';
import { KID_MODES } from './types.js';
import type { Jwks, KeyEntry, KidMode, PublicJwk, SigningAlgorithm, TokenSigner } from './types.js';

export interface KeyRingOptions {
  /** Subject and validity of certificates generated for keys configured without one. */
  certificate?: Omit<CertificateOptions, 'now'>;
  /** Clock override for tests (certificate validity checks). */
  now?: Date;
}

/** What `keys show` and logs may know about a key: no private material. */
export interface KeyInfo {
  readonly id: string;
  readonly alg: SigningAlgorithm;
  readonly active: boolean;
  readonly kidMode: KidMode;
  /** The kid this key's tokens carry and the JWKS lists. */
  readonly kid: string;
  readonly kids: {
    readonly libtrust: string;
    /** The distribution ≥3.1 rootcertbundle kid (what `thumbprint` mode sends). */
    readonly thumbprint: string;
    /** The RFC 7638 thumbprint; differs from `thumbprint` only for EC keys with a leading zero coordinate byte. */
    readonly jwkThumbprint: string;
  };
  /** False when the certificate was generated in this process because none was configured. */
  readonly certificateProvided: boolean;
}

interface RingKey {
  info: KeyInfo;
  jwk: PublicJwk;
  certificatePem: string;
}

/** Printable ASCII only: a kid ends up in JSON headers, JWKS files and log lines. */
const KID_OVERRIDE = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;

/**
 * Certificates generated for keys that have none, memoised per process so that every
 * KeyRing built from the same key (e.g. after a config reload) exports the same bundle.
 */
const generatedCertificates = new Map<string, Promise<string>>();

function generatedCertificate(privateKey: KeyObject, alg: SigningAlgorithm, options: Omit<CertificateOptions, 'now'>): Promise<string> {
  const fingerprint = createHash('sha256').update(spkiDer(privateKey)).digest('hex');
  const cacheKey = JSON.stringify([fingerprint, alg, options.subject ?? null, options.days ?? null]);
  let pending = generatedCertificates.get(cacheKey);
  if (!pending) {
    pending = createSelfSignedCertificate(privateKey, alg, options);
    generatedCertificates.set(cacheKey, pending);
    pending.catch(() => generatedCertificates.delete(cacheKey));
  }
  return pending;
}

function kidFor(mode: KidMode, kids: KeyInfo['kids']): string {
  switch (mode) {
    case 'libtrust':
    case 'x5c':
      return kids.libtrust;
    case 'thumbprint':
      return kids.thumbprint;
  }
}

/**
 * The signing keys: exactly one active signer, every key published (so tokens signed
 * by a key being rotated out keep verifying until they expire). Immutable; build a new
 * ring to rotate.
 */
export class KeyRing {
  readonly signer: TokenSigner;
  readonly keys: readonly KeyInfo[];
  readonly #ring: readonly RingKey[];
  readonly #bundle: string;

  private constructor(signer: TokenSigner, ring: readonly RingKey[]) {
    this.signer = signer;
    this.#ring = ring;
    this.keys = Object.freeze(ring.map((key) => key.info));
    this.#bundle = ring.map((key) => key.certificatePem).join('');
  }

  static async create(entries: readonly KeyEntry[], options: KeyRingOptions = {}): Promise<KeyRing> {
    if (entries.length === 0) throw new KeyError('invalid_keyring', 'at least one signing key is required');
    const activeEntries = entries.filter((entry) => entry.active === true);
    if (activeEntries.length > 1) {
      throw new KeyError('invalid_keyring', `only one key may be active, got ${activeEntries.map((e) => e.id).join(', ')}`);
    }
    const activeId = (activeEntries[0] ?? entries[0])?.id;
    const now = options.now ?? new Date();
    const seenIds = new Set<string>();
    const seenKids = new Map<string, string>();
    const ring: RingKey[] = [];
    let signer: TokenSigner | undefined;

    for (const entry of entries) {
      const origin = `key "${entry.id}"`;
      if (entry.id.length === 0) throw new KeyError('invalid_keyring', 'key ids must be non-empty');
      if (seenIds.has(entry.id)) throw new KeyError('invalid_keyring', `duplicate key id "${entry.id}"`);
      seenIds.add(entry.id);
      if (!KID_MODES.includes(entry.kidMode)) throw new KeyError('invalid_keyring', `${origin}: unknown kid mode ${String(entry.kidMode)}`);
      assertKeyMatchesAlg(entry.privateKey, entry.alg, origin);
      if (entry.privateKey.type !== 'private') throw new KeyError('invalid_key', `${origin}: a private key is required`);
      if (entry.kid !== undefined && !KID_OVERRIDE.test(entry.kid)) {
        throw new KeyError('invalid_keyring', `${origin}: kid must be 1-256 printable ASCII characters without surrounding spaces`);
      }

      let chain: CertificateChain;
      if (entry.certificatePem !== undefined) {
        chain = parseCertificateChain(entry.certificatePem, entry.certificateSource ?? `${origin} certificate`);
        assertCertificateMatchesKey(chain, entry.privateKey);
      } else {
        const pem = await generatedCertificate(entry.privateKey, entry.alg, options.certificate ?? {});
        chain = parseCertificateChain(pem, `${origin} generated certificate`);
      }
      // Registries enforce the certificate's dates only on the x5c path.
      if (entry.kidMode === 'x5c' && !isCertificateValidAt(chain, now)) {
        throw new KeyError(
          'invalid_certificate',
          `${chain.origin}: valid only from ${chain.notBefore.toISOString()} to ${chain.notAfter.toISOString()}; registries reject it in x5c mode`,
        );
      }

      const kids = {
        libtrust: libtrustKeyId(entry.privateKey),
        thumbprint: distributionThumbprint(entry.privateKey),
        jwkThumbprint: await jwkThumbprint(entry.privateKey),
      };
      const kid = entry.kid ?? kidFor(entry.kidMode, kids);
      const clash = seenKids.get(kid);
      if (clash !== undefined) throw new KeyError('invalid_keyring', `keys "${clash}" and "${entry.id}" would both use kid ${kid}`);
      seenKids.set(kid, entry.id);

      const x5c = chainToX5c(chain);
      const active = entry.id === activeId;
      if (active) {
        signer = createTokenSigner({
          alg: entry.alg,
          privateKey: entry.privateKey,
          kid,
          ...(entry.kidMode === 'x5c' ? { x5c } : {}),
        });
      }
      // A generated certificate is only worth publishing if tokens actually carry it.
      const publishX5c = entry.certificatePem !== undefined || entry.kidMode === 'x5c';
      ring.push({
        info: Object.freeze({
          id: entry.id,
          alg: entry.alg,
          active,
          kidMode: entry.kidMode,
          kid,
          kids: Object.freeze(kids),
          certificateProvided: entry.certificatePem !== undefined,
        }),
        jwk: await publicJwk(entry.privateKey, { kid, alg: entry.alg, ...(publishX5c ? { x5c } : {}) }),
        // Only the leaf: intermediates in rootcertbundle would become trust anchors.
        certificatePem: leafPem(chain),
      });
    }
    if (!signer) throw new KeyError('invalid_keyring', 'no active signing key');
    return new KeyRing(signer, ring);
  }

  /** The active key's info. */
  get active(): KeyInfo {
    const info = this.keys.find((key) => key.active);
    if (!info) throw new KeyError('invalid_keyring', 'no active signing key');
    return info;
  }

  /** Public keys of every key in the ring (distribution 3.x `auth.token.jwks`); a fresh copy per call. */
  jwks(): Jwks {
    return { keys: this.#ring.map((key) => structuredClone(key.jwk)) };
  }

  /** Leaf certificates of every key, concatenated PEM (the registry's `rootcertbundle`). */
  certificateBundle(): string {
    return this.#bundle;
  }
}
