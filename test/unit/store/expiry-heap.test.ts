import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ExpiryHeap, type HeapItem } from '../../../src/store/expiry-heap.js';

interface Item extends HeapItem {
  readonly id: number;
}

describe('ExpiryHeap', () => {
  it('always offers the soonest expiry under any mix of push, remove and retime', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), at: fc.integer({ min: 0, max: 1_000 }) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('retime' as const), pick: fc.nat(), at: fc.integer({ min: 0, max: 1_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new ExpiryHeap<Item>();
        const model: Item[] = [];
        let next = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const item: Item = { id: next++, expiresAt: o.at, heapIndex: -1 };
            heap.push(item);
            model.push(item);
          } else if (model.length > 0) {
            const item = model[o.pick % model.length] as Item;
            if (o.kind === 'remove') {
              heap.remove(item);
              model.splice(model.indexOf(item), 1);
              expect(item.heapIndex).toBe(-1);
            } else {
              heap.retime(item, o.at);
            }
          }
          expect(heap.size).toBe(model.length);
          const min = Math.min(...model.map((i) => i.expiresAt));
          expect(heap.peek()?.expiresAt).toBe(model.length ? min : undefined);
        }
        // Draining by removing the top yields a non-decreasing sequence.
        let last = -Infinity;
        for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
          expect(top.expiresAt).toBeGreaterThanOrEqual(last);
          last = top.expiresAt;
          heap.remove(top);
        }
      }),
    );
  });

  it('ignores removing an item that is not in it', () => {
    const heap = new ExpiryHeap<Item>();
    const a: Item = { id: 1, expiresAt: 5, heapIndex: -1 };
    heap.remove(a);
    heap.push(a);
    heap.remove(a);
    heap.remove(a);
    expect(heap.size).toBe(0);
  });
});
