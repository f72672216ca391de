import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKeyRing, GENERATED_KEY_FILE } from '../../../src/broker/keys.js';
import { ConfigError, parseConfig } from '../../../src/config/index.js';
import { exportPrivateKeyPem } from '../../../src/keys/index.js';
import { p256, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

async function keyFile(mode: number): Promise<{ dir: string; file: string }> {
  const dir = await tempDir();
  const file = join(dir, 'signing.pem');
  await writeFile(file, exportPrivateKeyPem(p256()));
  await chmod(file, mode);
  return { dir, file };
}

const configured = (file: string, dir: string, privateKeyFiles?: string) =>
  parseConfig({ dataDir: dir, keys: { signing: [{ id: 'k', alg: 'ES256', privateKey: { file } }], ...(privateKeyFiles ? { privateKeyFiles } : {}) } });

describe('private-key file modes', () => {
  it('a configured key file that group or others can read is refused, naming the file, its mode and the opt-out', async () => {
    for (const mode of [0o640, 0o604, 0o644]) {
      const { dir, file } = await keyFile(mode);
      const err = await loadKeyRing(configured(file, dir)).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toContain(`mode 0${mode.toString(8)}`);
      expect((err as Error).message).toContain('keys.privateKeyFiles');
    }
  });

  it('mode 0600 and 0400 are accepted', async () => {
    for (const mode of [0o600, 0o400]) {
      const { dir, file } = await keyFile(mode);
      expect((await loadKeyRing(configured(file, dir))).ring.active.id).toBe('k');
    }
  });

  it('group-readable admits 0440/0640 but not other-readable; any admits everything', async () => {
    const group = await keyFile(0o640);
    expect((await loadKeyRing(configured(group.file, group.dir, 'group-readable'))).ring.active.id).toBe('k');
    const other = await keyFile(0o644);
    await expect(loadKeyRing(configured(other.file, other.dir, 'group-readable'))).rejects.toThrow(/other users/);
    expect((await loadKeyRing(configured(other.file, other.dir, 'any'))).ring.active.id).toBe('k');
  });

  it('the generated key in dataDir is held to the same rule', async () => {
    const dir = await tempDir();
    const config = parseConfig({ dataDir: dir });
    await loadKeyRing(config);
    await chmod(join(dir, GENERATED_KEY_FILE), 0o644);
    await expect(loadKeyRing(config)).rejects.toThrow(/group or other users can read/);
  });
});
