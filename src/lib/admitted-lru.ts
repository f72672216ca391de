/**
 * A bounded least-recently-used map that keeps a key only from its second `set` on; the first
 * only notes the key (in a set bounded like the entries, emptied when full). For caches on the
 * token path: most ID tokens of a CI fleet are presented once, and a value kept for them would
 * only outlive the young generation (heap growth and garbage-collection work for nothing).
 */
export class AdmittedLru<V> {
  private readonly entries = new Map<string, V>();
  private readonly seen = new Set<string>();
  /** Key of the most recently stored or read entry (the map's last), when it is still stored. */
  private newest: string | undefined;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, now the most recently used. */
  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // docker asks once per scope with the same token: the usual hit is the newest entry already,
    // and moving it would only leave a hole in the map's table to be compacted later.
    if (key !== this.newest) this.touch(key, value);
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
    if (key === this.newest) this.newest = undefined;
  }

  private touch(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    this.newest = key;
  }

  /** Stores `value` if the key was set before (or is stored already); otherwise notes the key. */
  set(key: string, value: V): void {
    if (!this.entries.delete(key) && !this.seen.delete(key)) {
      if (this.seen.size >= this.maxEntries) this.seen.clear();
      this.seen.add(key);
      return;
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
    this.entries.set(key, value);
    this.newest = key;
  }

  clear(): void {
    this.entries.clear();
    this.seen.clear();
    this.newest = undefined;
  }
}
