import { randomBytes } from 'node:crypto';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KeyError } from './errors.js';

function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

export function isNotFound(error: unknown): boolean {
  return errnoCode(error) === 'ENOENT';
}

/**
 * Writes `data` to a new file at `path`, never replacing an existing one: the content is
 * written and synced to a temporary file first, then hard-linked into place (link fails
 * if the target exists, unlike rename), so readers never see a partial key file.
 */
export async function writeFileExclusive(path: string, data: string, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.chmod(mode); // the umask may have narrowed or widened `mode`
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, path);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EEXIST') throw new KeyError('file_exists', `${path} already exists; refusing to overwrite it`, { cause: error });
      // Filesystems without hard links: check, then rename (a narrow race, still never a partial file).
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
      if (await exists(path)) throw new KeyError('file_exists', `${path} already exists; refusing to overwrite it`);
      await rename(temp, path);
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Replaces `path` with `data` atomically (temp file + rename), for public exports. */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
