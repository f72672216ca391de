import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_CERT_DAYS,
  DEFAULT_CERT_SUBJECT,
  KID_MODES,
  KeyError,
  KeyRing,
  SIGNING_ALGORITHMS,
  chainToPem,
  exists,
  createSelfSignedCertificate,
  distributionThumbprint,
  exportPrivateKeyPem,
  generateSigningKey,
  inferAlgorithm,
  jwkThumbprint,
  libtrustKeyId,
  loadCertificateForKey,
  loadPrivateKey,
  writeFileAtomic,
  writeFileExclusive,
} from '../keys/index.js';
import type { KeyEntry, KidMode, SigningAlgorithm } from '../keys/index.js';
import { UsageError } from './usage.js';

export interface KeysCommandDeps {
  /** Builds the server's KeyRing from its configuration file (default location when omitted). */
  loadKeyRing: (configPath?: string) => Promise<KeyRing>;
  /** Where output goes; defaults to process stdout/stderr. Applied to every subcommand. */
  output?: { writeOut(text: string): void; writeErr(text: string): void };
}

interface KeySourceOptions {
  config?: string;
  key: string[];
  cert: string[];
  kidMode?: KidMode;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function positiveInteger(value: string): number {
  if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new InvalidArgumentError('expected a whole number of days between 1 and 999999');
  return Number(value);
}

/** One line, no stack: what an operator sees when a keys command fails. */
function failureLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `error: ${message.split('\n')[0]}`;
}

/** Wraps an action so any failure is reported through commander (stderr, exit code 1). */
function action<T extends object>(handler: (options: T, command: Command) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    try {
      await handler(command.opts<T>(), command);
    } catch (error) {
      if (error instanceof CommanderError) throw error;
      if (error instanceof UsageError) command.error(failureLine(error), { exitCode: 2, code: 'portcullis.usage' });
      command.error(failureLine(error), { exitCode: 1, code: 'portcullis.keys' });
    }
  };
}

function out(command: Command, text: string): void {
  const write = command.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
  write(text);
}

function err(command: Command, text: string): void {
  const write = command.configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
  write(text);
}

function addKeySourceOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'server configuration to read the keys from (default: $PORTCULLIS_CONFIG)')
    .option('--key <pem-file>', 'private key file instead of --config (repeatable; the first is active)', collect, [])
    .option('--cert <pem-file>', 'certificate for the --key at the same position (repeatable)', collect, [])
    .addOption(new Option('--kid-mode <mode>', 'kid mode for --key keys').choices(KID_MODES));
}

/** A KeyRing from --key/--cert files, or the configured one. */
async function keyRingFrom(options: KeySourceOptions, deps: KeysCommandDeps, command: Command): Promise<KeyRing> {
  if (options.key.length === 0) {
    if (options.cert.length > 0 || options.kidMode !== undefined) {
      throw new UsageError('--cert and --kid-mode only apply together with --key');
    }
    return deps.loadKeyRing(options.config);
  }
  if (options.config !== undefined) throw new UsageError('use either --config or --key, not both');
  if (options.cert.length > options.key.length) throw new UsageError('more --cert than --key options');
  const entries: KeyEntry[] = [];
  for (const [index, keyPath] of options.key.entries()) {
    const privateKey = await loadPrivateKey(keyPath);
    const alg = inferAlgorithm(privateKey, keyPath);
    const certPath = options.cert[index];
    const entry: KeyEntry = { id: keyPath, alg, privateKey, kidMode: options.kidMode ?? 'libtrust', active: index === 0 };
    if (certPath !== undefined) {
      entry.certificatePem = chainToPem(await loadCertificateForKey(certPath, privateKey));
      entry.certificateSource = certPath;
    } else {
      err(command, `note: ${keyPath} has no --cert; using a self-signed certificate generated for this run only\n`);
    }
    entries.push(entry);
  }
  return KeyRing.create(entries);
}

async function emit(command: Command, text: string, outPath: string | undefined): Promise<void> {
  if (outPath === undefined) {
    out(command, text);
    return;
  }
  await writeFileAtomic(outPath, text);
  err(command, `wrote ${outPath}\n`);
}

function generateCommand(parent: Command): void {
  interface GenerateOptions {
    alg: SigningAlgorithm;
    out: string;
    certOut?: string;
    days: number;
    subject: string;
  }
  parent
    .command('generate')
    .description('generate a signing key (PKCS#8 PEM, mode 0600) and optionally its self-signed certificate')
    .addOption(new Option('--alg <alg>', 'signing algorithm').choices(SIGNING_ALGORITHMS).default('ES256'))
    .requiredOption('--out <key.pem>', 'where to write the private key (must not exist)')
    .option('--cert-out <cert.pem>', 'where to write a self-signed certificate (must not exist)')
    .option('--days <n>', 'certificate validity in days', positiveInteger, DEFAULT_CERT_DAYS)
    .option('--subject <cn>', 'certificate subject common name', DEFAULT_CERT_SUBJECT)
    .action(
      action<GenerateOptions>(async (options, command) => {
        if (options.certOut === options.out) throw new UsageError('--out and --cert-out must be different files');
        // Check both before writing either, so a refusal leaves nothing half-done.
        for (const path of [options.out, options.certOut]) {
          if (path !== undefined && (await exists(path))) throw new KeyError('file_exists', `${path} already exists; refusing to overwrite it`);
        }
        const privateKey = await generateSigningKey(options.alg);
        const certificate =
          options.certOut === undefined
            ? undefined
            : await createSelfSignedCertificate(privateKey, options.alg, { days: options.days, subject: options.subject });
        await mkdir(dirname(options.out), { recursive: true, mode: 0o700 });
        await writeFileExclusive(options.out, exportPrivateKeyPem(privateKey), 0o600);
        out(command, `key: ${options.out}\n`);
        if (options.certOut !== undefined && certificate !== undefined) {
          await mkdir(dirname(options.certOut), { recursive: true });
          await writeFileExclusive(options.certOut, certificate, 0o644);
          out(command, `certificate: ${options.certOut}\n`);
        }
        out(command, `alg: ${options.alg}\n`);
        out(command, `libtrust-kid: ${libtrustKeyId(privateKey)}\n`);
        out(command, `thumbprint: ${distributionThumbprint(privateKey)}\n`);
        const standard = await jwkThumbprint(privateKey);
        if (standard !== distributionThumbprint(privateKey)) out(command, `rfc7638-thumbprint: ${standard}\n`);
      }),
    );
}

function exportCommand(parent: Command, deps: KeysCommandDeps): void {
  interface ExportOptions extends KeySourceOptions {
    format: 'cert' | 'jwks';
    out?: string;
  }
  const command = parent
    .command('export')
    .description('write the certificate bundle (registry rootcertbundle) or the JWKS (distribution 3.x auth.token.jwks)')
    .addOption(new Option('--format <format>', 'what to export').choices(['cert', 'jwks']).makeOptionMandatory());
  addKeySourceOptions(command)
    .option('--out <file>', 'write to this file instead of stdout')
    .action(
      action<ExportOptions>(async (options, cmd) => {
        const ring = await keyRingFrom(options, deps, cmd);
        const text = options.format === 'cert' ? ring.certificateBundle() : `${JSON.stringify(ring.jwks(), null, 2)}\n`;
        await emit(cmd, text, options.out);
      }),
    );
}

function showCommand(parent: Command, deps: KeysCommandDeps): void {
  const command = parent.command('show').description('list the signing keys and the kid each registry version would use');
  addKeySourceOptions(command)
    .option('--json', 'one JSON array')
    .action(
      action<KeySourceOptions & { json?: boolean }>(async (options, cmd) => {
        const ring = await keyRingFrom(options, deps, cmd);
        if (options.json === true) {
          const keys = ring.keys.map((key) => ({
            id: key.id,
            alg: key.alg,
            active: key.active,
            kidMode: key.kidMode,
            kid: key.kid,
            kids: { libtrust: key.kids.libtrust, thumbprint: key.kids.thumbprint, x5c: key.kids.libtrust, rfc7638: key.kids.jwkThumbprint },
            certificate: key.certificateProvided ? 'configured' : 'generated',
          }));
          out(cmd, `${JSON.stringify(keys, null, 2)}\n`);
          return;
        }
        for (const key of ring.keys) {
          out(
            cmd,
            [
              `${key.id}`,
              `  alg: ${key.alg}`,
              `  active: ${key.active ? 'yes' : 'no'}`,
              `  kid-mode: ${key.kidMode}`,
              `  kid: ${key.kid}`,
              `  kid (libtrust, distribution 2.x): ${key.kids.libtrust}`,
              `  kid (thumbprint, distribution 3.1+): ${key.kids.thumbprint}`,
              `  kid (x5c mode): ${key.kids.libtrust}`,
              `  rfc7638-thumbprint: ${key.kids.jwkThumbprint}`,
              `  certificate: ${key.certificateProvided ? 'configured' : 'generated for this process'}`,
              '',
            ].join('\n') + '\n',
          );
        }
      }),
    );
}

/** `portcullis keys …`: generate, export and inspect token signing keys. */
export function keysCommand(deps: KeysCommandDeps): Command {
  const keys = new Command('keys').description('manage token signing keys');
  // Set before adding subcommands: commander copies output settings to them at creation.
  if (deps.output) keys.configureOutput(deps.output);
  generateCommand(keys);
  exportCommand(keys, deps);
  showCommand(keys, deps);
  return keys;
}
