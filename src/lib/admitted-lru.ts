/**
 * A bounded least-recently-used map that keeps a key only from its second `set` on; the first
 * only notes the key. For caches on the token path: most ID tokens of a CI fleet are presented
 * once, and a value kept for them would only outlive the young generation (heap growth and
 * garbage-collection work for nothing).
 *
 * A note is the key's 32-bit fingerprint in a fixed table, not the key: a set of key strings
 * kept every fresh token's key for seconds, long enough for V8 to promote it, so at a few
 * thousand requests a second the notes alone grew the old generation by about a megabyte a
 * second and brought full collections. Two keys may share a slot, and the later one's note
 * replaces the earlier's (that key is then kept from its next `set`); a key is kept at its first
 * `set` only when the note in its slot is another key's with the same 32 bits (one in four
 * billion). Only what is kept is compared by its whole key.
 */
export class AdmittedLru<V> {
  private readonly entries = new Map<string, V>();
  /** Fingerprints of keys set once; 0 is an empty slot. */
  private readonly notes: Uint32Array;
  private readonly slotShift: number;
  /** Key of the most recently stored or read entry (the map's last), when it is still stored. */
  private newest: string | undefined;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    // Twice as many slots as entries (at least 64, at most 2^22), a power of two.
    const bits = Math.min(22, Math.max(6, Math.ceil(Math.log2(maxEntries * 2))));
    this.notes = new Uint32Array(1 << bits);
    this.slotShift = 32 - bits;
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
    if (!this.entries.delete(key)) {
      hashes(key);
      const slot = (HASHES[0] as number) >>> this.slotShift;
      const print = (HASHES[1] as number) || 1;
      if (this.notes[slot] !== print) {
        this.notes[slot] = print;
        return;
      }
      this.notes[slot] = 0;
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
    this.notes.fill(0);
    this.newest = undefined;
  }
}

/**
 * Two independent 32-bit hashes of the key's UTF-16 code units in one pass, into HASHES: the
 * first picks the slot, the second is the note, so keys that share a slot still differ in all 32
 * bits of their notes. FNV-1a, and a multiply-rotate hash with other constants.
 */
const HASHES = new Uint32Array(2);
function hashes(key: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b = (b << 13) | (b >>> 19);
  }
  HASHES[0] = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  HASHES[1] = Math.imul(b ^ (b >>> 15), 0xc2b2ae35);
}
