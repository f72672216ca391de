/**
 * OpenID Connect discovery of an issuer's jwks_uri, through openid-client.
 * openid-client compares issuers after URL normalisation; we also require the discovered
 * `issuer` to equal the configured one byte for byte, since that is what tokens must carry.
 */
import { allowInsecureRequests, customFetch, discovery, None, type CustomFetchOptions } from 'openid-client';
import { assertFetchableUrl, fetchBounded, type FetchLike, type FetchLimits } from './fetch-bounded.js';

/** A client id is required by openid-client's API; discovery never sends it. */
const DISCOVERY_CLIENT_ID = 'portcullis-identity-verifier';

export async function discoverJwksUri(issuer: string, fetchImpl: FetchLike, limits: FetchLimits, signal?: AbortSignal): Promise<string> {
  const issuerUrl = assertFetchableUrl(issuer, 'issuer');
  const boundedFetch = (url: string, options: CustomFetchOptions): Promise<Response> => {
    assertFetchableUrl(url, 'discovery URL');
    const signals = [options.signal, signal].filter((s): s is AbortSignal => s != null);
    return fetchBounded(fetchImpl, url, limits, { headers: options.headers, ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}) });
  };
  let metadata: { issuer: string; jwks_uri?: string };
  try {
    const configuration = await discovery(issuerUrl, DISCOVERY_CLIENT_ID, undefined, None(), {
      [customFetch]: boundedFetch,
      timeout: Math.ceil(limits.timeoutMs / 1000),
      // Plain http only ever reaches loopback: assertFetchableUrl refused everything else above.
      execute: issuerUrl.protocol === 'http:' ? [allowInsecureRequests] : [],
    });
    metadata = configuration.serverMetadata();
  } catch (error) {
    throw new Error(`discovery for ${issuer} failed: ${(error as Error).message}`);
  }
  if (metadata.issuer !== issuer) {
    throw new Error(`discovery for ${issuer} returned issuer ${JSON.stringify(metadata.issuer)}; they must be identical`);
  }
  if (typeof metadata.jwks_uri !== 'string') throw new Error(`discovery for ${issuer} has no jwks_uri`);
  const jwksUrl = assertFetchableUrl(metadata.jwks_uri, `jwks_uri of ${issuer}`);
  // A remote issuer must not point us at plain http (or, through it, at our own loopback services).
  if (issuerUrl.protocol === 'https:' && jwksUrl.protocol !== 'https:') {
    throw new Error(`discovery for ${issuer} announced a non-https jwks_uri`);
  }
  return metadata.jwks_uri;
}
