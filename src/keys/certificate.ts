import { createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as x509 from './x509.js';
import { derToPem } from './encoding.js';
import { KeyError } from './errors.js';
import { assertKeyMatchesAlg, errorMessage, spkiDer } from './material.js';
import type { SigningAlgorithm } from './types.js';

export const DEFAULT_CERT_SUBJECT = 'portcullis token signer';
export const DEFAULT_CERT_DAYS = 1825;

export interface CertificateOptions {
  /** Common name of the subject (and issuer: the certificate is self-signed). */
  subject?: string;
  /** Validity in days from now. */
  days?: number;
  /** Clock override for tests. */
  now?: Date;
}

/** A parsed certificate file: the leaf (matching the signing key) first, then any intermediates. */
export interface CertificateChain {
  /** DER of each certificate, leaf first. */
  readonly der: readonly Buffer[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Where the chain came from, for error messages. */
  readonly origin: string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** SHA-1 (and older) signatures are refused by Go ≥1.18 when verifying x5c chains. */
const ACCEPTED_SIGNATURE_HASHES = new Set(['SHA-256', 'SHA-384', 'SHA-512']);

function webCryptoAlgorithms(alg: SigningAlgorithm): { importAlg: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams; signingAlgorithm: webcrypto.Algorithm | webcrypto.EcdsaParams } {
  return alg === 'ES256'
    ? { importAlg: { name: 'ECDSA', namedCurve: 'P-256' }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams }
    : { importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.Algorithm };
}

/** Random positive serial; the first byte is 0x01..0x7f so the DER INTEGER is minimal and positive. */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) % 0x7f) + 1;
  return bytes.toString('hex');
}

/**
 * Creates a self-signed certificate for `privateKey`, SHA-256 signed. notBefore is an hour
 * in the past so a registry with a slightly slow clock still accepts the x5c chain.
 */
export async function createSelfSignedCertificate(
  privateKey: KeyObject,
  alg: SigningAlgorithm,
  options: CertificateOptions = {},
): Promise<string> {
  assertKeyMatchesAlg(privateKey, alg);
  const subject = options.subject ?? DEFAULT_CERT_SUBJECT;
  const days = options.days ?? DEFAULT_CERT_DAYS;
  if (!Number.isInteger(days) || days < 1) throw new KeyError('invalid_certificate', `certificate validity must be a whole number of days ≥ 1 (got ${days})`);
  if (subject.length === 0 || subject.length > 64) throw new KeyError('invalid_certificate', 'certificate subject CN must be 1 to 64 characters');
  const now = options.now ?? new Date();
  const { importAlg, signingAlgorithm } = webCryptoAlgorithms(alg);
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), importAlg, false, ['sign']),
    publicKey: await subtle.importKey('spki', spkiDer(privateKey), importAlg, true, ['verify']),
  };
  const name = new x509.Name([{ CN: [subject] }]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerialHex(),
      name,
      notBefore: new Date(now.getTime() - HOUR_MS),
      notAfter: new Date(now.getTime() + days * DAY_MS),
      signingAlgorithm,
      keys,
      extensions: [
        // Same shape as `openssl req -x509`: usable as its own trust anchor in rootcertbundle.
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
  });
  return derToPem(new Uint8Array(cert.rawData), 'CERTIFICATE');
}

const PEM_CERT_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/** Splits and parses the CERTIFICATE blocks of a PEM text; other blocks are ignored. */
export function parseCertificateChain(pem: string, origin = 'certificate PEM'): CertificateChain {
  const der: Buffer[] = [];
  let notBefore = new Date(0);
  let notAfter = new Date(8.64e15);
  for (const match of pem.matchAll(PEM_CERT_BLOCK)) {
    const bytes = Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64');
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(bytes);
    } catch (cause) {
      throw new KeyError('invalid_certificate', `${origin}: certificate ${der.length + 1} cannot be parsed (${errorMessage(cause)})`, { cause });
    }
    const signature = cert.signatureAlgorithm as { name?: string; hash?: { name?: string } };
    const hash = signature.hash?.name ?? 'unknown';
    if (!ACCEPTED_SIGNATURE_HASHES.has(hash)) {
      throw new KeyError('invalid_certificate', `${origin}: certificate ${der.length + 1} is signed with ${hash}; registries need a SHA-256 (or stronger) signature`);
    }
    // The leaf's dates are what x5c verification enforces.
    if (der.length === 0) {
      notBefore = cert.notBefore;
      notAfter = cert.notAfter;
    }
    der.push(bytes);
  }
  if (der.length === 0) throw new KeyError('invalid_certificate', `${origin}: no CERTIFICATE block found`);
  return { der, notBefore, notAfter, origin };
}

/** The public key of the chain's leaf certificate. */
export function leafPublicKey(chain: CertificateChain): KeyObject {
  const leaf = chain.der[0];
  if (!leaf) throw new KeyError('invalid_certificate', `${chain.origin}: empty certificate chain`);
  const spki = new x509.X509Certificate(leaf).publicKey.rawData;
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

/**
 * Fails unless the chain's leaf certifies `privateKey`'s public key. A certificate for
 * another key makes every x5c token fail and a kid-mode registry trust the wrong key
 * (distribution#3941).
 */
export function assertCertificateMatchesKey(chain: CertificateChain, privateKey: KeyObject): void {
  if (!spkiDer(leafPublicKey(chain)).equals(spkiDer(privateKey))) {
    throw new KeyError('cert_key_mismatch', `${chain.origin}: the certificate's public key does not match the signing key`);
  }
}

/** Parses a certificate PEM (string or file path) and checks it belongs to `privateKey`. */
export async function loadCertificateForKey(pathOrPem: string, privateKey: KeyObject): Promise<CertificateChain> {
  let pem = pathOrPem;
  let origin = 'certificate PEM';
  if (!pathOrPem.includes('-----BEGIN')) {
    origin = pathOrPem;
    try {
      pem = await readFile(pathOrPem, 'utf8');
    } catch (cause) {
      throw new KeyError('invalid_certificate', `${pathOrPem}: cannot read certificate (${errorMessage(cause)})`, { cause });
    }
  }
  const chain = parseCertificateChain(pem, origin);
  assertCertificateMatchesKey(chain, privateKey);
  return chain;
}

/** x5c header/JWK values: standard base64 DER with padding, never base64url. */
export function chainToX5c(chain: CertificateChain): string[] {
  return chain.der.map((der) => der.toString('base64'));
}

/** The whole chain as PEM blocks, leaf first. */
export function chainToPem(chain: CertificateChain): string {
  return chain.der.map((der) => derToPem(der, 'CERTIFICATE')).join('');
}

/** The leaf as a PEM block, re-encoded from DER so the bundle is byte-stable. */
export function leafPem(chain: CertificateChain): string {
  const leaf = chain.der[0];
  if (!leaf) throw new KeyError('invalid_certificate', `${chain.origin}: empty certificate chain`);
  return derToPem(leaf, 'CERTIFICATE');
}

export function isCertificateValidAt(chain: CertificateChain, at: Date): boolean {
  return chain.notBefore.getTime() <= at.getTime() && at.getTime() <= chain.notAfter.getTime();
}
