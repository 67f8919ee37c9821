// One linear memory shared by every tensor and by the WebAssembly kernels.
//
// Tensors are addressed by *float index* into this memory (llm.c style: plain offsets, no objects
// in the hot loop). The memory is a WebAssembly.Memory even for the TypeScript reference kernels,
// so both backends see the same bytes and can be swapped or compared freely.
//
// Growing a WebAssembly.Memory detaches old views, so nobody may keep `heap.f32` across an
// `alloc`: read it again after allocating. Models reserve everything once per shape, so the
// memory grows once per model/batch shape and never inside the time loop.

const PAGE = 65536;
/** Bytes reserved at the bottom for the WASM module's static data and stack. */
export const HEAP_BASE = 1 << 20;

export class Heap {
  readonly memory: WebAssembly.Memory;
  /** Whether the memory is shared (a SharedArrayBuffer that worker threads can compute on). */
  readonly shared: boolean;
  f32!: Float32Array;
  i32!: Int32Array;
  u8!: Uint8Array;
  private top = HEAP_BASE; // bytes

  /**
   * `shared`: back the heap with shared memory so a pool of worker threads can run kernels on it
   * (needs SharedArrayBuffer: always in Node, in browsers only when cross-origin isolated).
   */
  constructor(initialBytes = 16 << 20, opts: { shared?: boolean } = {}) {
    const pages = Math.ceil(Math.max(initialBytes, HEAP_BASE + PAGE) / PAGE);
    this.shared = opts.shared ?? false;
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: this.shared } as WebAssembly.MemoryDescriptor);
    this.refresh();
  }

  private refresh(): void {
    const b = this.memory.buffer;
    this.f32 = new Float32Array(b);
    this.i32 = new Int32Array(b);
    this.u8 = new Uint8Array(b);
  }

  /** Bytes in use (high-water mark of the bump allocator). */
  get used(): number {
    return this.top;
  }

  /** Allocate `n` floats (or int32s), 64-byte aligned, zero-filled. Returns a float index. */
  alloc(n: number): number {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`heap.alloc: bad size ${n}`);
    const start = (this.top + 63) & ~63;
    const end = start + n * 4;
    this.ensure(end);
    this.top = end;
    this.u8.fill(0, start, end);
    return start >>> 2;
  }

  /** Make sure the memory holds at least `bytes` bytes (grows at most once per call). */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) {
      // Shared memory never detaches: a view made before another thread grew it is merely short.
      if (this.u8.byteLength < have) this.refresh();
      return;
    }
    // Grow geometrically so a sequence of allocations grows the memory a handful of times.
    const want = Math.max(bytes, Math.floor(have * 1.5));
    const pages = Math.ceil((want - have) / PAGE);
    try {
      this.memory.grow(pages);
    } catch {
      throw new RangeError(`heap: cannot grow WebAssembly memory to ${(want / 2 ** 20).toFixed(0)} MiB`);
    }
    this.refresh();
  }

  /** Stack-like scratch: `const m = heap.mark(); ...alloc...; heap.release(m)`. */
  mark(): number {
    return this.top;
  }
  release(mark: number): void {
    if (mark > this.top) throw new Error('heap.release: mark is above the top');
    this.top = mark;
  }

  /** A view of `n` floats at float index `off` (valid until the next alloc). */
  view(off: number, n: number): Float32Array {
    return this.f32.subarray(off, off + n);
  }
}
