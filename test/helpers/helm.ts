import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './cli.js';
import { runProcess, type RunResult } from './processes.js';

/** Where .ci/test-deps.sh puts the helm binary it takes from an npm package (never committed). */
export const HELM = path.join(ROOT, 'node_modules/.cache/portcullis-helm/helm');
export const CHART_DIR = path.join(ROOT, 'deploy/helm/portcullis');

/** The helm binary; throws (tests fail, never skip) when .ci/test-deps.sh has not run. */
export function requireHelm(): string {
  try {
    accessSync(HELM, constants.X_OK);
    return HELM;
  } catch {
    throw new Error(`helm not found at ${HELM}; run "bash .ci/test-deps.sh" (it extracts helm from an npm package)`);
  }
}

/** Runs helm with an empty HOME and no kube config: rendering needs no cluster. */
export function helm(args: readonly string[]): Promise<RunResult> {
  return runProcess(requireHelm(), args, {
    cwd: CHART_DIR,
    timeoutMs: 60_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: '/nonexistent',
      HELM_CACHE_HOME: path.join(ROOT, 'node_modules/.cache/portcullis-helm/cache'),
      HELM_CONFIG_HOME: path.join(ROOT, 'node_modules/.cache/portcullis-helm/config'),
      HELM_DATA_HOME: path.join(ROOT, 'node_modules/.cache/portcullis-helm/data'),
      KUBECONFIG: '/dev/null',
    },
  });
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** `helm template` of the chart with values files and --set arguments; throws with helm's stderr on failure. */
export async function renderChart(valuesFiles: readonly string[], extra: readonly string[] = []): Promise<Manifest[]> {
  const result = await helm(['template', 'portcullis', '.', '--namespace', 'registry', ...valuesFiles.flatMap((f) => ['-f', f]), ...extra]);
  if (result.code !== 0) throw new Error(`helm template failed (exit ${result.code}): ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** The one manifest of `kind` (and `name`, when given); throws when there is not exactly one. */
export function manifestOf(manifests: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as Manifest;
}
