import { formatPath, type PolicyIssue } from './errors.js';

/** Collects compile problems with their key paths, so one run reports all of them. */
export class IssueCollector {
  readonly issues: PolicyIssue[] = [];

  add(path: readonly PropertyKey[], message: string): void {
    this.issues.push({ path: formatPath(path), message });
  }

  /** Runs `fn`; a thrown Error becomes an issue at `path` and the result is undefined. */
  attempt<T>(path: readonly PropertyKey[], fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.add(path, err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }
}
