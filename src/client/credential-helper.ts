import { ambientIdToken, findAmbientIdentity } from './ambient.js';
import { registryHost } from './broker-url.js';
import { ClientError } from './errors.js';
import { loadCiConfig } from './helper-config.js';
import { LoginStore } from './logins.js';
import { loginsFile, type Env } from './paths.js';
import { revokeAtBroker } from './revoke.js';
import { checkSession } from './session-check.js';

/**
 * The docker credential-helper protocol (docker-credential-helpers): the action is the one argument,
 * input comes on stdin, the answer is JSON on stdout; a failure is one line on stdout and exit status 1,
 * which docker, podman, buildah and skopeo show to the person as the reason.
 */
export interface HelperResult {
  stdout: string;
  code: 0 | 1;
}

export const HELPER_VERSION = '0.1.0';
/** The message docker and containers/image recognise as "no credentials here": they go on anonymously. */
export const NOT_FOUND = 'credentials not found in native keychain';
/** docker's name for a refresh (identity) token in the Username field. */
const IDENTITY_TOKEN_USERNAME = '<token>';
/** The username of a password login with a CI job's ID token. */
const ID_TOKEN_USERNAME = 'oidc';

const ok = (value: unknown): HelperResult => ({ stdout: `${JSON.stringify(value)}\n`, code: 0 });
const fail = (line: string): HelperResult => ({ stdout: `${line}\n`, code: 1 });

const loginAgain = (broker: string, why: string): HelperResult =>
  fail(`portcullis: ${why}; run \`portcullis login ${broker}\``);

async function get(input: string, env: Env): Promise<HelperResult> {
  const serverUrl = input.trim();
  if (serverUrl === '') return fail('no credentials server URL');
  const host = registryHost(serverUrl);

  const ambient = findAmbientIdentity(await loadCiConfig(env), env, host);
  if (ambient) {
    return ok({ ServerURL: serverUrl, Username: ID_TOKEN_USERNAME, Secret: await ambientIdToken(ambient, env) });
  }

  const found = await new LoginStore(loginsFile(env)).forRegistry(host);
  if (!found) return fail(NOT_FOUND);
  if (!found.login) return loginAgain(found.broker, `not signed in to ${found.broker}`);
  const state = await checkSession(found.login);
  if (state.live === false) {
    return loginAgain(found.broker, state.reason === 'expired' ? `your session at ${found.broker} has expired` : `your session at ${found.broker} has ended`);
  }
  if (state.live === 'unknown') return fail(`portcullis: cannot check your session at ${found.broker}: ${state.why}`);
  return ok({ ServerURL: serverUrl, Username: IDENTITY_TOKEN_USERNAME, Secret: found.login.refreshToken });
}

/**
 * `store` follows a `docker login` / `podman login` against a registry that uses this helper. The
 * session comes from `portcullis login`, so the password is not kept; the input is still checked as
 * docker-credential-helpers does, so a broken caller hears about it.
 */
function store(input: string): HelperResult {
  let creds: unknown;
  try {
    creds = JSON.parse(input);
  } catch {
    return fail('invalid credentials JSON on stdin');
  }
  const c = (typeof creds === 'object' && creds !== null ? creds : {}) as Record<string, unknown>;
  if (typeof c.ServerURL !== 'string' || c.ServerURL === '') return fail('no credentials server URL');
  if (typeof c.Username !== 'string' || c.Username === '') return fail('no credentials username');
  return { stdout: '', code: 0 };
}

/** `erase` (docker logout <registry>): ends the session of the broker serving that registry. */
async function erase(input: string, env: Env): Promise<HelperResult> {
  const serverUrl = input.trim();
  if (serverUrl === '') return fail('no credentials server URL');
  const logins = new LoginStore(loginsFile(env));
  const found = await logins.forRegistry(registryHost(serverUrl));
  if (!found?.login) return fail(NOT_FOUND);
  // Best effort at the broker: the person asked to be logged out, so the local token goes regardless.
  await revokeAtBroker(found.login.revocationEndpoint, found.login.refreshToken).catch(() => undefined);
  await logins.remove(found.broker);
  return { stdout: '', code: 0 };
}

/** `list`: registry → username for every registry with a stored session. */
async function list(env: Env): Promise<HelperResult> {
  const data = await new LoginStore(loginsFile(env)).read();
  const out: Record<string, string> = {};
  for (const [host, broker] of Object.entries(data.registries)) if (data.logins[broker]) out[host] = IDENTITY_TOKEN_USERNAME;
  return ok(out);
}

export async function runCredentialHelper(args: readonly string[], input: string, env: Env): Promise<HelperResult> {
  if (args.length !== 1) return fail('Usage: docker-credential-portcullis <store|get|erase|list|version>');
  try {
    switch (args[0]) {
      case 'get':
        return await get(input, env);
      case 'store':
        return store(input);
      case 'erase':
        return await erase(input, env);
      case 'list':
        return await list(env);
      case 'version':
        return { stdout: `docker-credential-portcullis (portcullis) ${HELPER_VERSION}\n`, code: 0 };
      default:
        return fail(`Unknown credential action \`${args[0]}\``);
    }
  } catch (err) {
    if (err instanceof ClientError) return fail(`portcullis: ${err.message}`);
    throw err;
  }
}
