/**
 * `npx tsx test/bench/id-token-verify.ts`: the cost of one full ID-token verification (no
 * verification cache, static JWKS, so no network) next to jose's jwtVerify on the same tokens
 * in the same run. Short and single-process; on a shared machine the figures move, the ratio
 * less so. PASS when the broker's verifier is not slower than jose's.
 *   BENCH_TOKENS (default 4000) tokens per algorithm.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createVerifier } from '../../src/identity/index.js';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 4000);
const ISS = 'https://ci.example.com';
const ALGS = ['RS256', 'ES256'] as const;

const keys: JWK[] = [];
const signers = new Map<string, { privateKey: CryptoKey; kid: string }>();
for (const alg of ALGS) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `bench-${alg}`;
  keys.push({ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' });
  signers.set(alg, { privateKey, kid });
}
const verifier = createVerifier(
  [{ id: 'ci', issuer: ISS, audiences: ['portcullis'], algorithms: [...ALGS], jwks: { keys } }],
  { cache: false },
);
const jwks = createLocalJWKSet({ keys });

const line = (text: string): void => void process.stdout.write(`${text}\n`);
line(`node ${process.version}; ${TOKENS} distinct tokens per algorithm; shared machine, figures are indicative`);
let pass = true;
for (const alg of ALGS) {
  const signer = signers.get(alg);
  if (!signer) throw new Error(alg);
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < TOKENS; i++) {
    tokens.push(
      await new SignJWT({ sub: `repo:octo/app:${i}`, iss: ISS, aud: 'portcullis', iat: now, exp: now + 600, jti: `j${i}` })
        .setProtectedHeader({ alg, kid: signer.kid, typ: 'JWT' })
        .sign(signer.privateKey),
    );
  }
  // Warm both paths (JIT, key import caches) on a slice, then time the whole pool.
  for (const token of tokens.slice(0, 200)) {
    await verifier.verify(token);
    await jwtVerify(token, jwks, { issuer: ISS, audience: 'portcullis', algorithms: [alg] });
  }
  // Interleave the two in chunks and keep each one's median chunk: a loaded machine slows both alike.
  const chunk = 100;
  const brokerChunks: number[] = [];
  const joseChunks: number[] = [];
  for (let i = 0; i + chunk <= tokens.length; i += chunk) {
    const slice = tokens.slice(i, i + chunk);
    let start = process.hrtime.bigint();
    for (const token of slice) await verifier.verify(token);
    brokerChunks.push(Number(process.hrtime.bigint() - start) / 1e3 / chunk);
    start = process.hrtime.bigint();
    for (const token of slice) await jwtVerify(token, jwks, { issuer: ISS, audience: 'portcullis', algorithms: [alg] });
    joseChunks.push(Number(process.hrtime.bigint() - start) / 1e3 / chunk);
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  const broker = median(brokerChunks);
  const jose = median(joseChunks);
  const ok = broker <= jose * 1.05;
  pass &&= ok;
  line(`${alg}: broker ${broker.toFixed(1)} µs/token, jose ${jose.toFixed(1)} µs/token (${ok ? 'PASS' : 'MISS'})`);
}
line(pass ? 'PASS' : 'MISS');
