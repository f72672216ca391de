import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ClientError } from './errors.js';

export type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON object in `file`, `{}` when it does not exist; a file that is not a JSON object is an error, never overwritten. */
export async function readJsonObject(file: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ClientError('bad_file', `cannot read ${file}: ${(err as Error).message}`);
  }
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ClientError('bad_file', `${file} is not valid JSON (${(err as Error).message}); fix or move it, it was left untouched`);
  }
  if (!isObject(parsed)) throw new ClientError('bad_file', `${file} does not hold a JSON object; fix or move it, it was left untouched`);
  return parsed;
}

async function modeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).mode & 0o777;
  } catch {
    return undefined;
  }
}

/**
 * Replaces `file` atomically: a reader sees the old or the new content, never half of it, and a crash
 * leaves the old file. The new file keeps the old one's mode, or gets `mode` when it is new; `forceMode`
 * always applies `mode` (secrets).
 */
export async function writeJsonAtomic(
  file: string,
  value: unknown,
  options: { mode: number; dirMode?: number; forceMode?: boolean },
): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: options.dirMode ?? 0o700 });
  const mode = options.forceMode ? options.mode : ((await modeOf(file)) ?? options.mode);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse an existing path; the mode applies from the first byte.
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    await handle.sync();
    await handle.close();
    // The umask may have narrowed the mode; set it exactly.
    await chmod(temp, mode);
    await rename(temp, file);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}
