import { Command, InvalidArgumentError, Option } from 'commander';
import { ClientError, login, logout, parseTools, type ClientTool } from '../client/index.js';

interface LoginFlags {
  device?: boolean;
  browser?: boolean;
  configure?: ClientTool[];
  registry?: string[];
  service?: string;
  provider?: string;
  json?: boolean;
}

const say = (line: string): void => void process.stderr.write(`${line}\n`);

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A wrong --configure value is a usage error (exit status 2), like any other bad option. */
function tools(value: string): ClientTool[] {
  try {
    return parseTools(value);
  } catch (err) {
    if (err instanceof ClientError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** `portcullis login <broker-url>`: sign in as a person and keep a refresh token for the registry clients. */
export function loginCommand(): Command {
  return new Command('login')
    .description('sign in at a broker as a person (browser, or a one-time code with --device) and keep the session for docker, podman, buildah and skopeo')
    .argument('<broker-url>', 'the broker, e.g. https://portcullis.example.com')
    .addOption(new Option('--device', 'use the device flow: a code to enter in a browser elsewhere (SSH sessions, containers)').conflicts('browser'))
    .option('--browser', 'use the browser hand-off even when no display is detected (the address is printed)')
    .option('--configure <clients>', 'write the credHelpers entry for the registries into these clients\' config: docker,podman', tools)
    .option('--registry <host>', 'registry host[:port] to configure (repeatable; default: those the broker announces)', collect)
    .option('--service <name>', 'registry service to sign in for (when the broker serves several)')
    .option('--provider <id>', 'sign-in provider to use (when the broker offers several)')
    .option('--json', 'print the outcome as one JSON object (never the token)')
    .action(async (brokerUrl: string, flags: LoginFlags) => {
      const result = await login(brokerUrl, {
        env: process.env,
        say,
        flow: flags.device ? 'device' : flags.browser ? 'browser' : 'auto',
        ...(flags.service !== undefined ? { service: flags.service } : {}),
        ...(flags.provider !== undefined ? { provider: flags.provider } : {}),
        ...(flags.registry !== undefined ? { registries: flags.registry } : {}),
        ...(flags.configure !== undefined ? { configure: flags.configure } : {}),
      });
      if (flags.json) {
        const { broker, service, subject, issuer, name, expiresAt, registries } = result.login;
        process.stdout.write(`${JSON.stringify({ broker, service, subject, issuer, name, expiresAt, registries, configured: result.configured })}\n`);
        return;
      }
      const who = result.login.name ?? result.login.subject ?? 'you';
      process.stdout.write(`Signed in to ${result.login.broker} as ${who}; the session lasts until ${result.login.expiresAt}.\n`);
      for (const file of result.configured) {
        process.stdout.write(`Configured ${file}: ${result.login.registries.join(', ')} → docker-credential-portcullis\n`);
      }
    });
}

/** `portcullis logout [<broker-url|registry>]`: revoke the session and forget the token. */
export function logoutCommand(): Command {
  return new Command('logout')
    .description('revoke the session at the broker and remove the stored token')
    .argument('[target]', 'broker URL or registry host (default: the only broker signed in to)')
    .option('--forget', 'remove the stored token even when the broker cannot be reached')
    .action(async (target: string | undefined, flags: { forget?: boolean }) => {
      const gone = await logout(target, { env: process.env, forget: flags.forget === true });
      process.stdout.write(`Signed out of ${gone.broker}.\n`);
    });
}
