import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { KeyRing, loadOrCreateKeyFile, parsePrivateKeyPem, type KeyEntry } from '../keys/index.js';
import { ConfigError, readSecret, type Config } from '../config/index.js';
import { checkPrivateKeyFileMode } from './key-file-mode.js';

export const GENERATED_KEY_FILE = 'signing-key.pem';

/** Builds the key ring the configuration describes; with no keys configured, the key generated once in dataDir. */
export async function loadKeyRing(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  options: { dryRun?: boolean } = {},
): Promise<{ ring: KeyRing; notes: string[] }> {
  const kidMode = config.keys.kidMode;
  const notes: string[] = [];
  const entries: KeyEntry[] = [];
  if (config.keys.signing) {
    for (const [i, k] of config.keys.signing.entries()) {
      const where = `keys.signing[${i}].privateKey`;
      if ('file' in k.privateKey) checkPrivateKeyFileMode(k.privateKey.file, where, config.keys.privateKeyFiles);
      const pem = readSecret(k.privateKey, where, env);
      const entry: KeyEntry = { id: k.id, alg: k.alg, privateKey: parsePrivateKeyPem(pem, k.alg, where), kidMode };
      if (k.certificateFile) {
        try {
          entry.certificatePem = await readFile(k.certificateFile, 'utf8');
        } catch (err) {
          throw new ConfigError(`keys.signing[${i}].certificateFile: cannot read ${k.certificateFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        entry.certificateSource = k.certificateFile;
      }
      if (k.kid !== undefined) entry.kid = k.kid;
      if (k.active !== undefined) entry.active = k.active;
      entries.push(entry);
    }
  } else {
    const keyPath = path.join(config.dataDir, GENERATED_KEY_FILE);
    const dryRun = options.dryRun === true;
    const persisted = await loadOrCreateKeyFile(keyPath, config.keys.generatedAlg, {}, { write: !dryRun });
    if (!(dryRun && persisted.created)) checkPrivateKeyFileMode(keyPath, 'generated signing key', config.keys.privateKeyFiles);
    const what = persisted.created ? (dryRun ? 'no signing key yet: serve generates one at' : 'generated signing key') : 'reusing signing key';
    notes.push(`${what} ${keyPath}`, ...persisted.warnings);
    entries.push({
      id: 'generated',
      alg: config.keys.generatedAlg,
      privateKey: persisted.privateKey,
      certificatePem: persisted.certificatePem,
      certificateSource: persisted.certificatePath,
      kidMode,
    });
  }
  return { ring: await KeyRing.create(entries), notes };
}
