/** The `native` backend: tfjs's cpu backend (same data storage and every cpu kernel) with C++ heavy kernels. */
import { totalmem } from 'node:os';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendValues, DataId, DataType } from '@tensorflow/tfjs-core';

/** Outputs below this many floats come from `new Float32Array` every time (malloc serves them cheaply). */
const MIN_POOLED = 1 << 14;
/**
 * Most bytes the free lists keep; beyond it freed arrays are left to the garbage collector. A quarter of the
 * machine's memory, at most 8 GiB, or DIFFIQA_POOL_MB. Why so much: a tidy() releases a whole forward's
 * activations at once (about 1.5 GB for the labeller's 40-row cpu-small forward). The earlier fixed 768 MB let
 * half of them go, so each forward page-faulted and zeroed them again and fed V8 external-memory GCs: 2.3 s per
 * forward against 1.45 s with a 4 GB cap (`bench/label.ts --forward --rows 40`).
 */
const MAX_POOLED_BYTES = poolCapBytes();

/** The free-list cap in bytes for a DIFFIQA_POOL_MB value (unset or empty: the default) on a machine of `total` bytes. */
export function poolCapBytes(env = process.env['DIFFIQA_POOL_MB'], total = totalmem()): number {
  if (env === undefined || env === '') return Math.min(total / 4, 8 * 2 ** 30);
  const mb = Number(env);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`DIFFIQA_POOL_MB must be a number of MiB >= 0, got '${env}'`);
  return mb * 2 ** 20;
}

/**
 * A MathBackendCPU under its own name, so that `native` kernels can be registered beside the cpu ones, with a
 * recycling allocator for the native kernels' float32 outputs.
 *
 * Why: every tfjs output is a fresh ArrayBuffer, whose memory the garbage collector returns only later, so the
 * large activations of a forward pass are page-faulted and zeroed by the kernel page by page on every call
 * (measured: a 1x1 conv writing 25 MB took 25 ms with fresh outputs and 11 ms with recycled ones). Here an array
 * allocated by allocFloat32 goes back to a free list keyed by length as soon as its tensor is disposed, and the
 * next output of that length reuses it (zero-filled, like a fresh array).
 *
 * Safety: an array is recycled only while it is provably private to one tensor: it must not have been handed out
 * by readSync/read (dataSync, data, arraySync, moving to another backend), and no second tensor may have been
 * registered on the same array or on a view of its buffer (cpu kernels such as Slice return subarrays); either
 * event makes it ineligible for good, and the garbage collector frees it as before.
 */
export class NativeBackend extends MathBackendCPU {
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;
  /** Arrays from allocFloat32 that are still eligible for recycling. */
  private readonly poolable = new WeakSet<Float32Array>();
  /** Eligible arrays currently registered to a tensor (the first registration; a second one disqualifies). */
  private readonly registered = new WeakSet<Float32Array>();
  /** The allocFloat32 array that owns each buffer, to recognise views of it. */
  private readonly owner = new WeakMap<ArrayBufferLike, Float32Array>();

  constructor() {
    super();
    // MathBackendCPU prints "install our node backend to speed things up" on first use in Node; on `native`
    // that advice is wrong (this is the fast path), so mark the notice as already shown.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /**
   * A Float32Array of `n` elements, recycled from a disposed output when one of that length is free: zero-filled,
   * unless `overwritten` (the caller's kernel writes every element, so a recycled array skips the memset).
   */
  allocFloat32(n: number, overwritten = false): Float32Array {
    if (n < MIN_POOLED) return new Float32Array(n);
    const reused = this.free.get(n)?.pop();
    if (reused !== undefined) {
      this.freeBytes -= reused.byteLength;
      if (!overwritten) reused.fill(0);
      return reused;
    }
    const a = new Float32Array(n);
    this.poolable.add(a);
    this.owner.set(a.buffer, a);
    return a;
  }

  /** Number of arrays and bytes on the free lists (tests). */
  pooledStats(): { arrays: number; bytes: number } {
    let arrays = 0;
    for (const list of this.free.values()) arrays += list.length;
    return { arrays, bytes: this.freeBytes };
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    this.noteRegistration(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.noteRegistration(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    this.disqualify(this.data.get(dataId)?.values);
    return super.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const disposed = super.disposeData(dataId, force);
    if (disposed && values instanceof Float32Array && this.poolable.has(values) && this.registered.has(values)) {
      this.registered.delete(values);
      if (this.freeBytes + values.byteLength <= MAX_POOLED_BYTES) {
        const list = this.free.get(values.length);
        if (list === undefined) this.free.set(values.length, [values]);
        else list.push(values);
        this.freeBytes += values.byteLength;
      } else {
        this.disqualify(values);
      }
    }
    return disposed;
  }

  override dispose(): void {
    this.free.clear();
    this.freeBytes = 0;
    super.dispose();
  }

  private noteRegistration(values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    const own = this.owner.get(values.buffer);
    if (own === undefined || !this.poolable.has(own)) return;
    if (own === values && !this.registered.has(own)) this.registered.add(own);
    else this.disqualify(own); // a second tensor on the same memory
  }

  private disqualify(values: unknown): void {
    if (values instanceof Float32Array) {
      this.poolable.delete(values);
      this.registered.delete(values);
    } else if (ArrayBuffer.isView(values)) {
      const own = this.owner.get(values.buffer);
      if (own !== undefined) this.disqualify(own);
    }
  }
}
