import { statSync } from 'node:fs';
import { ConfigError } from '../config/index.js';

/** Which permission bits a private-key file may have besides the owner's (keys.privateKeyFiles). */
export type KeyFileModePolicy = 'owner-only' | 'group-readable' | 'any';

/**
 * Refuses a private-key file that users other than the broker's may read. A key
 * others can read is a key others can sign registry tokens with. `group-readable`
 * admits group read (Kubernetes secret volumes with fsGroup are 0440); `any` turns
 * the check off.
 */
export function checkPrivateKeyFileMode(file: string, what: string, policy: KeyFileModePolicy): void {
  if (policy === 'any') return;
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const forbidden = policy === 'owner-only' ? 0o077 : 0o037;
  if ((mode & forbidden) === 0) return;
  const octal = mode.toString(8).padStart(4, '0');
  const fix = policy === 'owner-only' ? 'chmod 600' : 'chmod 640';
  throw new ConfigError(
    `${what}: ${file} has mode ${octal}: ${policy === 'owner-only' ? 'group or other users' : 'other users'} can read this private key; ${fix} it, ` +
      `or set keys.privateKeyFiles to ${policy === 'owner-only' ? '"group-readable" or ' : ''}"any" to accept it`,
  );
}
