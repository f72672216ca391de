import { homedir } from 'node:os';
import path from 'node:path';

/** Environment variables the client reads; tests and CI pass their own. */
export type Env = Readonly<Record<string, string | undefined>>;

function home(env: Env): string {
  return env.HOME || homedir();
}

/** `$XDG_CONFIG_HOME/portcullis`, else `~/.config/portcullis`: where logins and the helper config live. */
export function configDir(env: Env): string {
  const base = env.XDG_CONFIG_HOME || path.join(home(env), '.config');
  return path.join(base, 'portcullis');
}

/** The 0600 file holding refresh tokens, one entry per broker. */
export function loginsFile(env: Env): string {
  return path.join(configDir(env), 'logins.json');
}

/** The CI-mode configuration of the credential helper. */
export function helperConfigFile(env: Env): string {
  return env.PORTCULLIS_HELPER_CONFIG || path.join(configDir(env), 'helper.yaml');
}

/** Docker's config.json: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigFile(env: Env): string {
  return path.join(env.DOCKER_CONFIG || path.join(home(env), '.docker'), 'config.json');
}

/**
 * The containers auth.json podman, buildah and skopeo read first:
 * `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`.
 */
export function containersAuthFile(env: Env): string {
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  // containers/image looks under $HOME here, not $XDG_CONFIG_HOME.
  return path.join(home(env), '.config', 'containers', 'auth.json');
}
