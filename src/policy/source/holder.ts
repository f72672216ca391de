import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { CompileOptions, CompiledPolicy } from '../engine/compile.js';
import { PolicyError } from '../errors.js';
import { lintPolicy, type LintFinding } from '../authoring/lint.js';
import { loadPolicyFile } from './load.js';

export interface PolicyHolderOptions extends Omit<CompileOptions, 'source'> {
  /** A policy file or a directory of them. */
  readonly path: string;
  /** Lint errors refuse a (re)load unless this is false. Default true. */
  readonly rejectLintErrors?: boolean;
  /** Quiet period before a change on disk triggers a reload. Default 250 ms. */
  readonly debounceMs?: number;
  /** Called after every reload attempt triggered by `watch()` (for logs and metrics). */
  readonly onReload?: (result: ReloadResult) => void;
}

export type ReloadResult =
  | { readonly ok: true; readonly version: string; readonly changed: boolean; readonly warnings: readonly LintFinding[] }
  | { readonly ok: false; readonly version: string; readonly error: Error };

/**
 * Holds the active policy and swaps it atomically on reload: parse →
 * validate → compile → lint, and only a policy that passes all of them
 * replaces the current one. A failed reload keeps the last good policy
 * (never falls back to "allow" or to an empty policy).
 */
export class PolicyHolder {
  #current: CompiledPolicy;
  #warnings: readonly LintFinding[];
  #chain: Promise<unknown> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: PolicyHolderOptions,
    initial: CompiledPolicy,
    warnings: readonly LintFinding[],
  ) {
    this.#current = initial;
    this.#warnings = warnings;
  }

  /** Loads the policy once; throws (PolicyError) when the initial policy is not usable. */
  static async create(options: PolicyHolderOptions): Promise<PolicyHolder> {
    const { policy, warnings } = await load(options);
    return new PolicyHolder(options, policy, warnings);
  }

  get current(): CompiledPolicy {
    return this.#current;
  }

  get version(): string {
    return this.#current.version;
  }

  /** Lint warnings of the current policy. */
  get warnings(): readonly LintFinding[] {
    return this.#warnings;
  }

  /** Reloads from disk. Concurrent calls run one after another. Never throws. */
  reload(): Promise<ReloadResult> {
    const next = this.#chain.then(async (): Promise<ReloadResult> => {
      try {
        const { policy, warnings } = await load(this.options);
        const changed = policy.version !== this.#current.version;
        this.#current = policy;
        this.#warnings = warnings;
        return { ok: true, version: policy.version, changed, warnings };
      } catch (err) {
        return { ok: false, version: this.#current.version, error: err instanceof Error ? err : new Error(String(err)) };
      }
    });
    this.#chain = next;
    return next;
  }

  /**
   * Watches the policy path and reloads after changes settle. Watches the
   * parent directory of a file, because editors and ConfigMap updates replace
   * the file (a new inode) rather than writing into it. Returns a stop function.
   */
  async watch(): Promise<() => void> {
    if (this.#watcher !== undefined) return () => this.close();
    const isDir = (await stat(this.options.path)).isDirectory();
    const dir = isDir ? this.options.path : dirname(this.options.path);
    const name = basename(this.options.path);
    this.#watcher = fsWatch(dir, { persistent: false }, (_event, filename) => {
      // Kubernetes ConfigMaps swap a "..data" symlink, so a null or unexpected name still counts for directories.
      if (!isDir && filename !== null && filename !== name && !filename.startsWith('..')) return;
      this.#schedule();
    });
    this.#watcher.on('error', () => {
      // The directory vanished (e.g. unmounted): keep serving the last good policy.
    });
    return () => this.close();
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.reload().then((r) => this.options.onReload?.(r));
    }, this.options.debounceMs ?? 250);
    this.#timer.unref();
  }
}

async function load(options: PolicyHolderOptions): Promise<{ policy: CompiledPolicy; warnings: readonly LintFinding[] }> {
  const policy = await loadPolicyFile(options.path, options);
  const lint = lintPolicy(policy, options.presets);
  if (options.rejectLintErrors !== false && lint.errors.length > 0) {
    throw new PolicyError(
      lint.errors.map((f) => ({ path: f.path, message: `${f.message} [${f.code}]` })),
      options.path,
    );
  }
  return { policy, warnings: lint.warnings };
}
