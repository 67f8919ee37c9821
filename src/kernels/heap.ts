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

/**
 * A module that imports a shared memory and exports zero(byteOffset, bytes) = memory.fill and
 * copy(to, from, bytes) = memory.copy. On a SharedArrayBuffer, V8's TypedArray.prototype.fill takes a
 * slow element-by-element path, about 10x slower for a Float32Array and 25x for a Uint8Array, and
 * copyWithin is 4–5x slower (bench/shared-heap-ab.ts). Heap.alloc's zero-fill alone made a small
 * model's run() 12% slower on a shared heap.
 */
const SHARED_MEMORY_OPS = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, // \0asm, version 1
  1, 12, 2, 96, 2, 127, 127, 0, 96, 3, 127, 127, 127, 0, // types: (i32, i32) → (), (i32, i32, i32) → ()
  2, 11, 1, 1, 109, 1, 109, 2, 3, 1, 128, 128, 4, // import "m" "m": shared memory, min 1 page, max 65536
  3, 3, 2, 0, 1, // two functions, one of each type
  7, 15, 2, 4, 122, 101, 114, 111, 0, 0, 4, 99, 111, 112, 121, 0, 1, // export "zero" and "copy"
  10, 26, 2, // code:
  11, 0, 32, 0, 65, 0, 32, 1, 252, 11, 0, 11, // zero: memory.fill(p0, 0, p1)
  12, 0, 32, 0, 32, 1, 32, 2, 252, 10, 0, 0, 11, // copy: memory.copy(p0, p1, p2)
]);
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
  /** memory.fill and memory.copy on a shared memory (null: plain memory, whose TypedArray methods are as fast). */
  private readonly ops: { zero(byteOffset: number, bytes: number): void; copy(to: number, from: number, bytes: number): void } | null = null;

  /**
   * `shared`: back the heap with shared memory so a pool of worker threads can run kernels on it
   * (needs SharedArrayBuffer: always in Node, in browsers only when cross-origin isolated).
   */
  constructor(initialBytes = 16 << 20, opts: { shared?: boolean } = {}) {
    const pages = Math.ceil(Math.max(initialBytes, HEAP_BASE + PAGE) / PAGE);
    this.shared = opts.shared ?? false;
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: this.shared } as WebAssembly.MemoryDescriptor);
    this.refresh();
    if (this.shared) {
      try {
        const inst = new WebAssembly.Instance(new WebAssembly.Module(SHARED_MEMORY_OPS as BufferSource), { m: { m: this.memory } });
        this.ops = inst.exports as unknown as NonNullable<Heap['ops']>;
      } catch {
        // An engine without bulk memory: TypedArray.fill, slower but correct.
      }
    }
  }

  /** Zero `n` floats at float index `off`. */
  zero(off: number, n: number): void {
    if (n <= 0) return;
    if (this.ops) this.ops.zero(off * 4, n * 4);
    else this.f32.fill(0, off, off + n);
  }

  /** Copy `n` floats from float index `from` to `to` (the ranges may overlap, as copyWithin). */
  copy(to: number, from: number, n: number): void {
    if (n <= 0) return;
    if (this.ops) this.ops.copy(to * 4, from * 4, n * 4);
    else this.f32.copyWithin(to, from, from + n);
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
    this.zero(start >>> 2, n);
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
