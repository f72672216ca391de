import { PortcullisError } from '../lib/index.js';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config, type SecretRef } from './schema.js';

export class ConfigError extends PortcullisError<'invalid_config'> {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    /** One line per problem: "key.path: what is wrong". */
    readonly problems: readonly string[] = [],
  ) {
    super('invalid_config', problems.length ? `${message}\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
  }
}

export const CONFIG_ENV = 'PORTCULLIS_CONFIG';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file, or null when running on embedded defaults. */
  source: string | null;
}

function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${String(s)}` : String(s);
  return out || '(root)';
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

/** Validates an already-parsed object. Relative paths are resolved against `baseDir`. */
export function parseConfig(raw: unknown, baseDir = process.cwd()): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError('invalid configuration', formatIssues(result.error.issues));
  return resolvePaths(result.data, baseDir);
}

function resolvePaths(config: Config, baseDir: string): Config {
  const abs = (p: string): string => path.resolve(baseDir, p);
  const fileRef = (ref: SecretRef): SecretRef => ('file' in ref ? { file: abs(ref.file) } : ref);
  const store = config.store.type === 'redis' && config.store.password ? { ...config.store, password: fileRef(config.store.password) } : config.store;
  if (store.type === 'redis' && store.tls) {
    const tls = { ...store.tls };
    for (const k of ['caFile', 'certFile', 'keyFile'] as const) if (tls[k]) tls[k] = abs(tls[k]);
    store.tls = tls;
  }
  return {
    ...config,
    store,
    admin: { ...config.admin, ...(config.admin.token ? { token: fileRef(config.admin.token) } : {}) },
    dataDir: abs(config.dataDir),
    policy: { ...config.policy, ...(config.policy.file ? { file: abs(config.policy.file) } : {}) },
    keys: {
      ...config.keys,
      ...(config.keys.signing
        ? {
            signing: config.keys.signing.map((k) => ({
              ...k,
              privateKey: fileRef(k.privateKey),
              ...(k.certificateFile ? { certificateFile: abs(k.certificateFile) } : {}),
            })),
          }
        : {}),
    },
  };
}

/**
 * Loads the configuration from `explicitPath`, else $PORTCULLIS_CONFIG, else
 * the embedded defaults (which also turn the development issuer on).
 */
export async function loadConfig(explicitPath?: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const file = explicitPath ?? env[CONFIG_ENV];
  if (!file) {
    const config = parseConfig({ devIssuer: { enabled: true } });
    if (env.PORTCULLIS_DATA_DIR) config.dataDir = path.resolve(env.PORTCULLIS_DATA_DIR);
    return { config, source: null };
  }
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read configuration file ${absolute}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(`configuration file ${absolute} is not valid YAML`, doc.errors.map((e) => e.message.split('\n')[0] ?? e.message));
  }
  try {
    return { config: parseConfig(doc.toJS(), path.dirname(absolute)), source: absolute };
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`invalid configuration in ${absolute}`, err.problems);
    throw err;
  }
}

/** Reads a secret. Errors name the variable or file, never the value. */
export function readSecret(ref: SecretRef, what: string, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new ConfigError(`${what}: environment variable ${ref.env} is not set`);
    return value;
  }
  try {
    return readFileSync(ref.file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
