import { createPublicKey, verify } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { distributionThumbprint } from '../../../src/keys/index.js';
import { basic, decodeJwt, startBroker, type TestBroker } from '../../helpers/broker.js';
import { TestIssuer } from '../../helpers/issuer.js';

let broker: TestBroker | undefined;
let issuer: TestIssuer | undefined;
afterEach(async () => {
  await broker?.stop();
  await issuer?.close();
  broker = undefined;
  issuer = undefined;
});

async function tokenFrom(kidMode: 'libtrust' | 'thumbprint' | 'x5c', alg: 'ES256' | 'RS256') {
  issuer = await TestIssuer.start();
  broker = await startBroker({
    issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: ['aud'] }],
    policy: { version: 1, rules: [] },
    kidMode,
    extra: { keys: { kidMode, generatedAlg: alg } },
  });
  const res = await fetch(`${broker.url}/token?service=test-registry`, { headers: { authorization: basic('x', await issuer.mint({}, { audience: 'aud' })) } });
  expect(res.status).toBe(200);
  const token = ((await res.json()) as { token: string }).token;
  const jwks = (await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()) as { keys: (Record<string, unknown> & { kid: string })[] };
  return { token, jwks, ...decodeJwt(token) };
}

describe('signing algorithms and kid modes over HTTP', () => {
  it('RS256 with the distribution 3.x thumbprint kid, published in the JWKS', async () => {
    const { token, jwks, header } = await tokenFrom('thumbprint', 'RS256');
    expect(header.alg).toBe('RS256');
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    expect(jwk?.kty).toBe('RSA');
    const key = createPublicKey({ key: jwk as never, format: 'jwk' });
    expect(header.kid).toBe(distributionThumbprint(key));
    const [h, p, s] = token.split('.');
    expect(verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s as string, 'base64url'))).toBe(true);
  });

  it('ES256 in x5c mode carries the certificate chain in standard base64', async () => {
    const { header, signature } = await tokenFrom('x5c', 'ES256');
    expect(header.alg).toBe('ES256');
    expect(signature.length).toBe(64);
    const x5c = header.x5c as string[];
    expect(x5c.length).toBeGreaterThan(0);
    expect(x5c[0]).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
  });
});
