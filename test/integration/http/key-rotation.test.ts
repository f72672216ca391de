import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { libtrustKeyId } from '../../../src/keys/index.js';
import { basic, decodeJwt, startBroker, type TestBroker } from '../../helpers/broker.js';
import { TestIssuer } from '../../helpers/issuer.js';

const ENV = 'PORTCULLIS_TEST_NEW_SIGNING_KEY';
let dir: string;
let issuer: TestIssuer;
let broker: TestBroker;
const oldKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const newKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'portcullis-rotation-'));
  await writeFile(path.join(dir, 'old.pem'), oldKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  process.env[ENV] = newKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  issuer = await TestIssuer.start();
  broker = await startBroker({
    issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: ['aud'] }],
    policy: { version: 1, rules: [] },
    extra: {
      keys: {
        kidMode: 'libtrust',
        signing: [
          { id: 'old', privateKey: { file: path.join(dir, 'old.pem') } },
          { id: 'new', privateKey: { env: ENV }, active: true },
        ],
      },
    },
  });
});
afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  delete process.env[ENV];
  await rm(dir, { recursive: true, force: true });
});

it('signs with the active key (from an environment variable) and still publishes the old one (from a file)', async () => {
  const res = await fetch(`${broker.url}/token?service=test-registry`, { headers: { authorization: basic('x', await issuer.mint({}, { audience: 'aud' })) } });
  expect(res.status).toBe(200);
  const { header } = decodeJwt(((await res.json()) as { token: string }).token);
  expect(header.kid).toBe(libtrustKeyId(newKey));
  const jwks = (await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
  expect(jwks.keys.map((k) => k.kid).sort()).toEqual([libtrustKeyId(oldKey), libtrustKeyId(newKey)].sort());
  const bundle = broker.broker.keyRing.certificateBundle();
  expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  expect(broker.broker.summary.join('\n')).not.toContain('BEGIN');
});
