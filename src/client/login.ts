import { normaliseBrokerUrl } from './broker-url.js';
import { canOpenBrowser, openBrowser } from './browser.js';
import { configureCredHelpers, type ClientTool } from './configure.js';
import { discover } from './discovery.js';
import { ClientError } from './errors.js';
import { deviceLogin, handOffLogin } from './flows.js';
import { LoginStore, type Login } from './logins.js';
import { loginsFile, type Env } from './paths.js';
import { revokeAtBroker } from './revoke.js';

export interface LoginOptions {
  env: Env;
  say: (line: string) => void;
  /** 'auto' picks the browser hand-off when a browser can be opened. */
  flow: 'auto' | 'browser' | 'device';
  service?: string;
  provider?: string;
  /** Registry hosts to configure; default: those the broker announces. */
  registries?: string[];
  configure?: ClientTool[];
  /** Injected for tests. */
  open?: (url: string) => Promise<boolean>;
}

export interface LoginResult {
  login: Login;
  configured: string[];
}

/** `portcullis login <broker>`: sign in, keep the refresh token, optionally point docker/podman at the helper. */
export async function login(brokerInput: string, options: LoginOptions): Promise<LoginResult> {
  const broker = normaliseBrokerUrl(brokerInput);
  const info = await discover(broker);
  if (!info.login) throw new ClientError('refused', `${broker} has no sign-in for people configured; ask its operators`);
  const registries = (options.registries?.length ? options.registries : info.registries).map((r) => r.toLowerCase());
  if (options.configure?.length && registries.length === 0) {
    throw new ClientError('invalid_input', `${broker} announces no registry to configure; name it with --registry <host[:port]>`);
  }

  const useBrowser = options.flow === 'browser' || (options.flow === 'auto' && canOpenBrowser(options.env));
  const flowOptions = {
    say: options.say,
    ...(options.service !== undefined ? { service: options.service } : {}),
    ...(options.provider !== undefined ? { provider: options.provider } : {}),
  };
  const grant = useBrowser
    ? await handOffLogin(info.login, { ...flowOptions, open: options.open ?? ((url) => openBrowser(url, options.env)) })
    : await deviceLogin(info.login, flowOptions);

  const store = new LoginStore(loginsFile(options.env));
  const previous = (await store.read()).logins[broker];
  const record: Login = {
    broker,
    service: grant.service,
    tokenEndpoint: info.tokenEndpoint,
    revocationEndpoint: info.login.revocation,
    refreshToken: grant.refresh_token,
    expiresAt: new Date(Date.now() + grant.expires_in * 1000).toISOString(),
    ...(grant.subject !== undefined ? { subject: grant.subject } : {}),
    ...(grant.issuer !== undefined ? { issuer: grant.issuer } : {}),
    ...(grant.name !== undefined ? { name: grant.name } : {}),
    registries: [...new Set([...registries, ...(previous?.registries ?? [])])],
  };
  await store.save(record);
  // The session this login replaces would otherwise stay valid until it expires.
  if (previous && previous.refreshToken !== record.refreshToken) {
    await revokeAtBroker(previous.revocationEndpoint, previous.refreshToken).catch(() => undefined);
  }

  const configured: string[] = [];
  for (const tool of options.configure ?? []) configured.push(await configureCredHelpers(tool, registries, options.env));
  return { login: record, configured };
}

export interface LogoutOptions {
  env: Env;
  /** Drop the local token even when the broker cannot confirm the revocation. */
  forget?: boolean;
}

/** Which stored login `target` (a broker URL or a registry host) names; the only one when omitted. */
async function pick(store: LoginStore, target: string | undefined): Promise<Login> {
  const data = await store.read();
  const all = Object.values(data.logins);
  if (target === undefined) {
    if (all.length === 1 && all[0]) return all[0];
    if (all.length === 0) throw new ClientError('not_signed_in', 'not signed in to any broker');
    throw new ClientError('invalid_input', `signed in to several brokers; name one: ${all.map((l) => l.broker).join(', ')}`);
  }
  const byRegistry = data.registries[target.toLowerCase()];
  if (byRegistry !== undefined && data.logins[byRegistry]) return data.logins[byRegistry];
  let broker: string | undefined;
  try {
    broker = normaliseBrokerUrl(target);
  } catch {
    broker = undefined;
  }
  const found = broker === undefined ? undefined : data.logins[broker];
  if (!found) throw new ClientError('not_signed_in', `not signed in to ${target}`);
  return found;
}

/** `portcullis logout`: revoke the session at the broker, then forget the token. */
export async function logout(target: string | undefined, options: LogoutOptions): Promise<Login> {
  const store = new LoginStore(loginsFile(options.env));
  const found = await pick(store, target);
  try {
    await revokeAtBroker(found.revocationEndpoint, found.refreshToken);
  } catch (err) {
    if (!options.forget) {
      throw new ClientError('unreachable', `${(err as Error).message}; the session is still stored: run \`portcullis logout\` again, or add --forget to drop it anyway`);
    }
  }
  await store.remove(found.broker);
  return found;
}
