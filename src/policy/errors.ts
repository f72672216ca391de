import { PortcullisError } from '../lib/index.js';

/** One problem in a policy document, located by its key path (`rules[2].grants[0].actions[1]`). */
export interface PolicyIssue {
  readonly path: string;
  readonly message: string;
}

const MAX_ISSUES_IN_MESSAGE = 50;

/** A policy that cannot be parsed, validated or compiled. The message lists every issue. */
export class PolicyError extends PortcullisError<'invalid_policy'> {
  override readonly name = 'PolicyError';
  constructor(
    readonly issues: readonly PolicyIssue[],
    readonly source?: string,
  ) {
    const shown = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map(formatIssue);
    if (issues.length > MAX_ISSUES_IN_MESSAGE) shown.push(`  … and ${issues.length - MAX_ISSUES_IN_MESSAGE} more`);
    super('invalid_policy', `${source === undefined ? 'invalid policy' : `invalid policy ${source}`}:\n${shown.join('\n')}`);
  }
}

export function formatIssue(issue: PolicyIssue): string {
  return issue.path === '' ? `  ${issue.message}` : `  ${issue.path}: ${issue.message}`;
}

const IDENTIFIER_RE = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Formats a key path the way people read it: `rules[2].when["a.b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER_RE.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}
