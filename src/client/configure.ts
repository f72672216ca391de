import { ClientError } from './errors.js';
import { readJsonObject, writeJsonAtomic } from './json-file.js';
import { containersAuthFile, dockerConfigFile, type Env } from './paths.js';

export const HELPER_NAME = 'portcullis';
export type ClientTool = 'docker' | 'podman';
export const CLIENT_TOOLS: readonly ClientTool[] = ['docker', 'podman'];

/** Parses `--configure docker,podman` (buildah and skopeo read podman's file, so they count as podman). */
export function parseTools(value: string): ClientTool[] {
  const tools = new Set<ClientTool>();
  for (const raw of value.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'docker') tools.add('docker');
    else if (['podman', 'buildah', 'skopeo', 'containers'].includes(name)) tools.add('podman');
    else throw new ClientError('invalid_input', `--configure: unknown client "${raw.trim()}" (expected docker, podman, buildah or skopeo)`);
  }
  if (tools.size === 0) throw new ClientError('invalid_input', '--configure needs at least one of docker, podman');
  return [...tools];
}

export function fileFor(tool: ClientTool, env: Env): string {
  return tool === 'docker' ? dockerConfigFile(env) : containersAuthFile(env);
}

/**
 * Adds `"credHelpers": { "<host>": "portcullis" }` for each registry to the tool's file, keeping every
 * other entry; the file is replaced atomically and keeps its mode (0600 when new). Returns the file.
 */
export async function configureCredHelpers(tool: ClientTool, registries: readonly string[], env: Env): Promise<string> {
  const file = fileFor(tool, env);
  const config = await readJsonObject(file);
  const existing = config.credHelpers;
  if (existing !== undefined && (typeof existing !== 'object' || existing === null || Array.isArray(existing))) {
    throw new ClientError('bad_file', `${file}: "credHelpers" is not an object; fix it by hand, it was left untouched`);
  }
  const helpers = { ...(existing as Record<string, unknown> | undefined) };
  for (const host of registries) helpers[host] = HELPER_NAME;
  config.credHelpers = helpers;
  await writeJsonAtomic(file, config, { mode: 0o600, dirMode: 0o700 });
  return file;
}
