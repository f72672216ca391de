import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientError } from './errors.js';
import { getJson } from './http.js';
import type { CiConfig } from './helper-config.js';
import type { Env } from './paths.js';

/** Where a CI job's own ID token comes from. */
export type AmbientSource =
  | { kind: 'file'; path: string }
  | { kind: 'variable'; name: string }
  | { kind: 'github-actions'; requestUrl: string; requestToken: string; audience: string };

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The workload identity this environment offers, if any. Explicit configuration (a token file, a
 * GitLab `id_tokens` variable) wins over GitHub Actions' ambient variables.
 */
export function findAmbientIdentity(config: CiConfig, env: Env, host: string): AmbientSource | undefined {
  if (config.registries && !config.registries.map((r) => r.toLowerCase()).includes(host)) return undefined;
  if (config.idTokenFile) return { kind: 'file', path: config.idTokenFile };
  if (config.idTokenVariable && env[config.idTokenVariable]) return { kind: 'variable', name: config.idTokenVariable };
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    // GitHub's default audience is the repository owner's URL, which every service accepting defaults shares.
    const audience = config.audience ?? config.broker;
    if (!audience) {
      throw new ClientError('invalid_input', 'GitHub Actions ID tokens need an audience: set PORTCULLIS_AUDIENCE (or ci.audience in helper.yaml) to the one the broker accepts');
    }
    return { kind: 'github-actions', requestUrl, requestToken, audience };
  }
  return undefined;
}

function checked(token: string, from: string): string {
  const t = token.trim();
  if (!JWT.test(t)) throw new ClientError('bad_file', `${from} does not hold a JWT`);
  return t;
}

/** GitHub Actions: GET the request URL with `audience` and the request token as Bearer → `{ "value": "<jwt>" }`. */
async function fromGithub(source: Extract<AmbientSource, { kind: 'github-actions' }>): Promise<string> {
  let url: URL;
  try {
    url = new URL(source.requestUrl);
  } catch {
    throw new ClientError('invalid_input', 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
  }
  url.searchParams.set('audience', source.audience);
  let lastProblem = '';
  // The Actions service has brief hiccups; the toolkit retries too.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const answer = await getJson(url.href, { authorization: `Bearer ${source.requestToken}` });
      if (answer.status === 200) {
        const value = (answer.body as { value?: unknown }).value;
        if (typeof value !== 'string') throw new ClientError('bad_answer', 'the GitHub Actions ID-token endpoint answered without "value"');
        return checked(value, 'the GitHub Actions ID-token answer');
      }
      lastProblem = `answered ${answer.status}`;
      if (answer.status < 500 && answer.status !== 429) break;
    } catch (err) {
      if (err instanceof ClientError && err.code !== 'unreachable') throw err;
      lastProblem = (err as Error).message;
    }
    if (attempt < 3) await sleep(attempt * 500);
  }
  throw new ClientError('unreachable', `cannot get a GitHub Actions ID token (${lastProblem}); does the job have "permissions: id-token: write"?`);
}

/** A fresh ID token from the source: fetched or re-read on every call, never cached. */
export async function ambientIdToken(source: AmbientSource, env: Env): Promise<string> {
  switch (source.kind) {
    case 'file': {
      let text: string;
      try {
        text = await readFile(source.path, 'utf8');
      } catch (err) {
        throw new ClientError('bad_file', `cannot read the ID-token file ${source.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      return checked(text, `the ID-token file ${source.path}`);
    }
    case 'variable':
      return checked(env[source.name] ?? '', `the variable ${source.name}`);
    case 'github-actions':
      return fromGithub(source);
  }
}
