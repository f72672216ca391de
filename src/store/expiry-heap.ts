/**
 * A binary min-heap of items ordered by `expiresAt`, where every item remembers its own
 * position so it can be removed or re-timed in O(log n). The memory store keeps one item per
 * value and per index member here: the soonest-expiring entry is always at the top, so expired
 * entries leave one by one without a scan, and "is anything expired?" is one comparison.
 */
export interface HeapItem {
  expiresAt: number;
  /** Position in the heap; -1 when not in it. Maintained by the heap only. */
  heapIndex: number;
}

export class ExpiryHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The soonest-expiring item, or undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  /** Removes `item` if it is in the heap. */
  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0 || this.items[i] !== item) return;
    const last = this.items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.down(this.up(i));
  }

  /** Changes `item`'s expiry and restores the order. */
  retime(item: T, expiresAt: number): void {
    item.expiresAt = expiresAt;
    this.down(this.up(item.heapIndex));
  }

  clear(): void {
    for (const item of this.items) item.heapIndex = -1;
    this.items.length = 0;
  }

  private up(start: number): number {
    const items = this.items;
    const item = items[start] as T;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (p.expiresAt <= item.expiresAt) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
    return i;
  }

  private down(start: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[start] as T;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && (items[right] as T).expiresAt < (items[left] as T).expiresAt ? right : left;
      const c = items[child] as T;
      if (c.expiresAt >= item.expiresAt) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
