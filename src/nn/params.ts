/**
 * Named parameters for the project's networks. Models are plain functions over a `ParamStore`, whose keys
 * are the reference implementation's PyTorch parameter names (`downs.0.0.block1.proj.weight`), so that
 * reference weights load by name and our checkpoints stay loadable by the reference.
 *
 * Tensors are stored in tfjs layouts (conv HWIO, linear [in,out]); `kind` records how to convert to and
 * from PyTorch layouts (conv OIHW, linear [out,in]) at the import/export boundary only.
 */
import { tf } from '../backend/tf.js';
import { CheckpointError, ShapeError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

/** How a parameter maps to PyTorch's layout. */
export type ParamKind = 'conv' | 'depthwise' | 'linear' | 'plain';

/** A parameter or buffer entry. Buffers (BatchNorm running stats) have `trainable: false`. */
export interface ParamEntry {
  readonly variable: tf.Variable;
  readonly kind: ParamKind;
  readonly trainable: boolean;
}

/** A host-side copy of a tensor, used by checkpoint readers/writers. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** An ordered collection of named tf.Variables with PyTorch-compatible names. Call dispose() when done. */
export class ParamStore {
  private static nextId = 0;
  private readonly entries = new Map<string, ParamEntry>();
  /** tfjs variable names are global, so each store prefixes its own (two UNets, or a model and its EMA, coexist). */
  private readonly scope = `ps${ParamStore.nextId++}/`;
  /** Tensors derived from parameters (see {@link derived}), with the data ids of the parameters they came from. */
  private readonly derivedCache = new Map<string, { deps: unknown[]; values: tf.Tensor[] }>();

  constructor(private readonly rng: Rng) {}

  /** Registers a variable initialised from `values` (length must match shape). */
  add(name: string, shape: number[], values: Float32Array, kind: ParamKind = 'plain', trainable = true): tf.Variable {
    if (this.entries.has(name)) throw new Error(`parameter '${name}' registered twice`);
    const initial = tf.tensor(values, shape, 'float32');
    const variable = tf.variable(initial, trainable, this.scope + name);
    initial.dispose(); // tf.variable copies its initial value
    this.entries.set(name, { variable, kind, trainable });
    return variable;
  }

  /** Uniform(-bound, bound) init, as PyTorch's default for conv and linear (kaiming_uniform a=sqrt(5)). */
  addUniform(name: string, shape: number[], bound: number, kind: ParamKind = 'plain'): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = this.rng.range(-bound, bound);
    return this.add(name, shape, values, kind);
  }

  /** A constant-filled parameter (or buffer when trainable is false). */
  addConst(name: string, shape: number[], value: number, trainable = true): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.add(name, shape, new Float32Array(n).fill(value), 'plain', trainable);
  }

  /** Conv weight [kh,kw,cin,cout] (+ bias [cout]) with PyTorch's default init. */
  addConv(prefix: string, kh: number, kw: number, cin: number, cout: number, bias: boolean): void {
    const bound = 1 / Math.sqrt(cin * kh * kw);
    this.addUniform(`${prefix}.weight`, [kh, kw, cin, cout], bound, 'conv');
    if (bias) this.addUniform(`${prefix}.bias`, [cout], bound);
  }

  /** Depthwise conv weight [kh,kw,c,1] (PyTorch [c,1,kh,kw], groups = c). */
  addDepthwise(prefix: string, kh: number, kw: number, channels: number, bias: boolean): void {
    const bound = 1 / Math.sqrt(kh * kw);
    this.addUniform(`${prefix}.weight`, [kh, kw, channels, 1], bound, 'depthwise');
    if (bias) this.addUniform(`${prefix}.bias`, [channels], bound);
  }

  /** Linear weight [in,out] (+ bias [out]) with PyTorch's default init. */
  addLinear(prefix: string, fanIn: number, fanOut: number, bias: boolean): void {
    const bound = 1 / Math.sqrt(fanIn);
    this.addUniform(`${prefix}.weight`, [fanIn, fanOut], bound, 'linear');
    if (bias) this.addUniform(`${prefix}.bias`, [fanOut], bound);
  }

  /** BatchNorm affine params and running-stat buffers under PyTorch's names. */
  addBatchNorm(prefix: string, channels: number, affine = true): void {
    if (affine) {
      this.addConst(`${prefix}.weight`, [channels], 1);
      this.addConst(`${prefix}.bias`, [channels], 0);
    }
    this.addConst(`${prefix}.running_mean`, [channels], 0, false);
    this.addConst(`${prefix}.running_var`, [channels], 1, false);
  }

  /** The variable registered under `name`; throws naming it when absent. */
  get(name: string): tf.Variable {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no parameter named '${name}'`);
    return e.variable;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Names in registration order (the reference's state_dict order where models register in that order). */
  names(): string[] {
    return [...this.entries.keys()];
  }

  entry(name: string): ParamEntry | undefined {
    return this.entries.get(name);
  }

  /** Trainable variables in registration order. */
  trainable(): tf.Variable[] {
    return [...this.entries.values()].filter((e) => e.trainable).map((e) => e.variable);
  }

  /** Trainable [name, variable] pairs in registration order (names without the store's scope). */
  trainableNamed(): [string, tf.Variable][] {
    return [...this.entries].filter(([, e]) => e.trainable).map(([n, e]) => [n, e.variable]);
  }

  /** Number of trainable scalars. */
  countTrainable(): number {
    return this.trainable().reduce((n, v) => n + v.size, 0);
  }

  /** Host copies of every entry in tfjs layout. */
  snapshot(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const [name, e] of this.entries) {
      out.set(name, { shape: [...e.variable.shape], data: e.variable.dataSync() as Float32Array });
    }
    return out;
  }

  /** Assigns values in tfjs layout by name; every registered name must be present with the same shape. */
  restore(values: ReadonlyMap<string, HostTensor>, source = 'checkpoint'): void {
    for (const [name, e] of this.entries) {
      const v = values.get(name);
      if (!v) throw new CheckpointError(source, name, 'missing parameter');
      if (!sameShape(v.shape, e.variable.shape)) {
        throw new CheckpointError(source, name, `shape [${v.shape}] does not match model [${e.variable.shape}]`);
      }
      assignHost(e.variable, v);
    }
  }

  /** Loads a PyTorch state dict (NCHW layouts) by name, converting layouts per parameter kind. */
  loadTorchStateDict(state: ReadonlyMap<string, HostTensor>, source: string, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const converted = new Map<string, HostTensor>();
    for (const [name, e] of this.entries) {
      const t = state.get(name);
      if (!t) {
        if (strict) throw new CheckpointError(source, name, 'missing from state dict');
        continue;
      }
      converted.set(name, fromTorchLayout(t, e.kind, name, source));
    }
    if (strict) {
      const extra = [...state.keys()].filter((k) => !this.entries.has(k) && !k.endsWith('num_batches_tracked'));
      if (extra.length) throw new CheckpointError(source, extra[0] as string, `unexpected key (${extra.length} in all)`);
      this.restore(converted, source);
    } else {
      for (const [name, v] of converted) assignHost(this.get(name), v);
    }
  }

  /** Host copies in PyTorch layouts, for safetensors export under the reference's names. */
  toTorchStateDict(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const [name, t] of this.snapshot()) out.set(name, toTorchLayout(t, this.entries.get(name)!.kind));
    return out;
  }

  /**
   * Tensors computed from parameters (e.g. BatchNorm folded into conv weights), cached under `key` until one of
   * `deps` changes. tf.Variable.assign gives a variable a new data id, so comparing data ids catches every update
   * (optimiser steps, checkpoint loads, EMA swaps) without reading values. Stale tensors are disposed when
   * recomputed, and all of them with the store; callers must not dispose what this returns.
   */
  derived(key: string, deps: readonly tf.Tensor[], compute: () => tf.Tensor[]): tf.Tensor[] {
    const ids = deps.map((t) => (t as unknown as { dataId: unknown }).dataId);
    const hit = this.derivedCache.get(key);
    if (hit && hit.deps.length === ids.length && hit.deps.every((d, i) => d === ids[i])) return hit.values;
    if (hit) tf.dispose(hit.values);
    // keep: the caller's tidy scope must not dispose what outlives the call.
    const values = tf.tidy(compute).map((t) => tf.keep(t));
    this.derivedCache.set(key, { deps: ids, values });
    return values;
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
    for (const d of this.derivedCache.values()) tf.dispose(d.values);
    this.derivedCache.clear();
  }
}

/** Assigns host values to a variable without leaking the temporary tensor. */
export function assignHost(variable: tf.Variable, value: HostTensor): void {
  const t = tf.tensor(value.data, value.shape, 'float32');
  variable.assign(t);
  t.dispose();
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Permutes a host tensor: out axis i takes input axis perm[i]. */
export function permuteHost(t: HostTensor, perm: readonly number[]): HostTensor {
  const shape = perm.map((p) => t.shape[p] as number);
  const inStrides = stridesOf(t.shape);
  const outStrides = stridesOf(shape);
  const data = new Float32Array(t.data.length);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < data.length; o++) {
    let rem = o;
    let src = 0;
    for (let d = 0; d < rank; d++) {
      idx[d] = Math.floor(rem / (outStrides[d] as number));
      rem -= (idx[d] as number) * (outStrides[d] as number);
      src += (idx[d] as number) * (inStrides[perm[d] as number] as number);
    }
    data[o] = t.data[src] as number;
  }
  return { shape, data };
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = (s[i + 1] as number) * (shape[i + 1] as number);
  return s;
}

/** PyTorch layout -> tfjs layout for one parameter. */
export function fromTorchLayout(t: HostTensor, kind: ParamKind, name = '', source = ''): HostTensor {
  const want = { conv: 4, depthwise: 4, linear: 2, plain: -1 }[kind];
  if (want > 0 && t.shape.length !== want) throw new ShapeError(`${source} ${name}`, `rank ${want}`, t.shape);
  switch (kind) {
    case 'conv': // OIHW -> HWIO
      return permuteHost(t, [2, 3, 1, 0]);
    case 'depthwise': // [C,1,kh,kw] -> [kh,kw,C,1]
      return permuteHost(t, [2, 3, 0, 1]);
    case 'linear': // [out,in] -> [in,out]
      return permuteHost(t, [1, 0]);
    default:
      return t;
  }
}

/** tfjs layout -> PyTorch layout for one parameter. */
export function toTorchLayout(t: HostTensor, kind: ParamKind): HostTensor {
  switch (kind) {
    case 'conv': // HWIO -> OIHW
      return permuteHost(t, [3, 2, 0, 1]);
    case 'depthwise': // [kh,kw,C,1] -> [C,1,kh,kw]
      return permuteHost(t, [2, 3, 0, 1]);
    case 'linear':
      return permuteHost(t, [1, 0]);
    default:
      return t;
  }
}
