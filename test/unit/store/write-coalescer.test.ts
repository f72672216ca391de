import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { WriteCoalescer } from '../../../src/store/write-coalescer.js';

/** A stream that records each write the way the kernel would see it: one entry per write or writev. */
function recordingStream(): { stream: Writable; syscalls: string[][] } {
  const syscalls: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      syscalls.push([chunk.toString()]);
      done();
    },
    writev(chunks, done) {
      syscalls.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      done();
    },
  });
  return { stream, syscalls };
}

describe('WriteCoalescer', () => {
  it('sends the commands of one turn of the event loop in one write', async () => {
    const { stream, syscalls } = recordingStream();
    const coalescer = new WriteCoalescer(() => stream);
    for (const command of ['SET a', 'SET b', 'GET c']) {
      coalescer.hold();
      stream.write(command);
    }
    expect(syscalls).toEqual([]);
    await nextTurn();
    expect(syscalls).toEqual([['SET a', 'SET b', 'GET c']]);
    expect(stream.writableCorked).toBe(0);
  });

  it('corks again in the next turn, and leaves the stream uncorked each time', async () => {
    const { stream, syscalls } = recordingStream();
    const coalescer = new WriteCoalescer(() => stream);
    coalescer.hold();
    stream.write('one');
    await nextTurn();
    coalescer.hold();
    stream.write('two');
    stream.write('three');
    await nextTurn();
    expect(syscalls).toEqual([['one'], ['two', 'three']]);
    expect(stream.writableCorked).toBe(0);
  });

  it('does nothing without a usable connection', async () => {
    const { stream, syscalls } = recordingStream();
    new WriteCoalescer(() => undefined).hold();
    stream.write('direct');
    expect(syscalls).toEqual([['direct']]);
    const coalescer = new WriteCoalescer(() => stream);
    stream.destroy();
    coalescer.hold();
    expect(stream.writableCorked).toBe(0);
    await nextTurn();
  });

  it('uncorks the connection it corked even when the client has moved to a new one', async () => {
    const first = recordingStream();
    const second = recordingStream();
    let current = first.stream;
    const coalescer = new WriteCoalescer(() => current);
    coalescer.hold();
    first.stream.write('queued');
    current = second.stream;
    await nextTurn();
    expect(first.syscalls).toEqual([['queued']]);
    expect(second.stream.writableCorked).toBe(0);
  });
});
