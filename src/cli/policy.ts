import { readFile } from 'node:fs/promises';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { parseScopes } from '../registry/index.js';
import {
  explain,
  formatExplanation,
  identityFromClaims,
  lintPolicy,
  loadPolicyFile,
  parsePolicyCases,
  parsePolicyYaml,
  policyJsonSchema,
  runPolicyCases,
  type CompiledPolicy,
  type PolicyRequest,
} from '../policy/index.js';

export interface PolicyCommandDeps {
  /** Where output goes; defaults to process stdout/stderr. */
  output?: { writeOut(text: string): void; writeErr(text: string): void };
}

interface AliasOptions {
  alias: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function aliasOption(value: string, previous: string[]): string[] {
  if (!/^[A-Za-z][A-Za-z0-9_-]*=\S+$/.test(value)) throw new InvalidArgumentError('expected name=url, e.g. dev=http://127.0.0.1:5001/dev');
  return [...previous, value];
}

function aliasesOf(options: AliasOptions): Record<string, string> {
  return Object.fromEntries(options.alias.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
}

/** Unresolved `$aliases` compile to placeholders: offline tools must not need the server's runtime configuration. */
function loadForTool(path: string, options: AliasOptions): Promise<CompiledPolicy> {
  return loadPolicyFile(path, { issuerAliases: aliasesOf(options), unresolvedAliases: 'placeholder' });
}

function action<T extends object>(handler: (options: T, command: Command, args: string[]) => Promise<number>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
    let code: number;
    try {
      code = await handler(command.opts<T>(), command, positional);
    } catch (error) {
      if (error instanceof CommanderError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      command.error(`error: ${message}`, { exitCode: 1, code: 'portcullis.policy' });
      return;
    }
    if (code !== 0) command.error('', { exitCode: code, code: 'portcullis.policy.failed' });
  };
}

function out(command: Command, text: string): void {
  (command.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s)))(text);
}

function lintCommand(parent: Command): void {
  interface LintOptions extends AliasOptions {
    json?: boolean;
  }
  parent
    .command('lint')
    .description('validate a policy (file or directory) and report risky patterns; exit 1 on errors')
    .argument('<file>', 'policy YAML file or directory')
    .option('--alias <name=url>', 'resolve `issuer: $name` (repeatable)', aliasOption, [])
    .option('--json', 'machine-readable output')
    .action(
      action<LintOptions>(async (options, command, [file]) => {
        const policy = await loadForTool(file as string, options);
        const result = lintPolicy(policy);
        if (options.json === true) {
          out(command, `${JSON.stringify({ version: policy.version, rules: policy.rules.length, ...result }, null, 2)}\n`);
        } else {
          for (const f of result.errors) out(command, `error   ${f.path} [${f.code}] (rule ${f.rule}): ${f.message}\n`);
          for (const f of result.warnings) out(command, `warning ${f.path} [${f.code}] (rule ${f.rule}): ${f.message}\n`);
          out(command, `${file}: ${policy.rules.length} rule(s), ${result.errors.length} error(s), ${result.warnings.length} warning(s), version ${policy.version}\n`);
        }
        return result.errors.length > 0 ? 1 : 0;
      }),
    );
}

function explainCommand(parent: Command): void {
  interface ExplainOptions extends AliasOptions {
    policy: string;
    claims?: string;
    scope: string[];
    service: string;
    issuer?: string;
    clientIp?: string;
    anonymous?: boolean;
    json?: boolean;
  }
  parent
    .command('explain')
    .description('show how a policy decides one request: every rule, every condition, the resulting access')
    .requiredOption('--policy <file>', 'policy YAML file or directory')
    .option('--claims <claims.json>', 'the ID token claims as JSON (e.g. a decoded token payload)')
    .option('--anonymous', 'explain a request without credentials')
    .requiredOption('--scope <scope>', 'requested scope, e.g. repository:team/app:pull,push (repeatable)', collect, [])
    .option('--service <name>', 'the `service` parameter of the request', 'registry')
    .option('--issuer <url>', 'issuer (default: the "iss" claim); "$name" for an alias')
    .option('--client-ip <ip>', 'client IP address for clientIp conditions')
    .option('--alias <name=url>', 'resolve `issuer: $name` (repeatable)', aliasOption, [])
    .option('--json', 'machine-readable output (decision and trace)')
    .action(
      action<ExplainOptions>(async (options, command) => {
        if ((options.claims === undefined) === (options.anonymous !== true)) throw new Error('give exactly one of --claims or --anonymous');
        const policy = await loadForTool(options.policy, options);
        let identity: PolicyRequest['identity'] = null;
        if (options.claims !== undefined) {
          const claims = parsePolicyYaml(await readFile(options.claims, 'utf8'), options.claims);
          if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new Error(`${options.claims}: expected a JSON object of claims`);
          identity = identityFromClaims(claims as Record<string, unknown>, options.issuer);
        }
        const request: PolicyRequest = {
          identity,
          scopes: parseScopes(options.scope),
          service: options.service,
          ...(options.clientIp === undefined ? {} : { clientIp: options.clientIp }),
        };
        const result = explain(policy, request);
        out(command, options.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatExplanation(result));
        return 0;
      }),
    );
}

function testCommand(parent: Command): void {
  interface TestOptions extends AliasOptions {
    policy: string;
    json?: boolean;
  }
  parent
    .command('test')
    .description('run policy test cases (requests with expected decisions); exit 1 on any mismatch')
    .argument('<cases.yaml>', 'test cases file')
    .requiredOption('--policy <file>', 'policy YAML file or directory')
    .option('--alias <name=url>', 'resolve `issuer: $name` (repeatable)', aliasOption, [])
    .option('--json', 'machine-readable output')
    .action(
      action<TestOptions>(async (options, command, [casesFile]) => {
        const policy = await loadForTool(options.policy, options);
        const cases = parsePolicyCases(parsePolicyYaml(await readFile(casesFile as string, 'utf8'), casesFile), casesFile);
        const results = runPolicyCases(policy, cases);
        const failed = results.filter((r) => !r.passed);
        if (options.json === true) {
          out(command, `${JSON.stringify({ passed: results.length - failed.length, failed: failed.length, results }, null, 2)}\n`);
        } else {
          for (const r of results) {
            out(command, `${r.passed ? 'ok  ' : 'FAIL'} ${r.name}\n`);
            for (const f of r.failures) out(command, `       ${f}\n`);
          }
          out(command, `${results.length - failed.length} passed, ${failed.length} failed\n`);
        }
        return failed.length > 0 ? 1 : 0;
      }),
    );
}

function schemaCommand(parent: Command): void {
  parent
    .command('schema')
    .description("print the policy document's JSON Schema (for editors and CI validation)")
    .action(
      action<object>(async (_options, command) => {
        out(command, `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
        return 0;
      }),
    );
}

/** `portcullis policy lint|explain|test|schema`. */
export function policyCommand(deps: PolicyCommandDeps = {}): Command {
  const policy = new Command('policy').description('check, explain and test trust policies');
  lintCommand(policy);
  explainCommand(policy);
  testCommand(policy);
  schemaCommand(policy);
  if (deps.output) {
    policy.configureOutput(deps.output);
    for (const sub of policy.commands) sub.configureOutput(deps.output);
  }
  return policy;
}
