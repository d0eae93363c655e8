/**
 * Reads PyTorch `torch.save` files (the zip format of torch ≥ 1.6) without running any of their code: the
 * pickle is read through an allow-list (collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
 * _rebuild_parameter, the typed storage classes, set/frozenset) and storages come from the archive's
 * `data/<key>` members. Tensors become lazy HostTensors: their float32 data is decoded on first access,
 * honouring storage offset and strides, so reading only the weights of a 2 GB training checkpoint does not
 * decode its optimiser state.
 */
import * as fs from 'node:fs';
import type { HostTensor } from '../nn/params.js';
import { CheckpointError, previewValue } from '../util/errors.js';
import { bf16ToFloat32, halfToFloat32 } from './half.js';
import { type PickleGlobal, type PickleLimits, unpickle } from './pickle.js';
import { ZipArchive } from './zip.js';

/** Element types of torch storages we decode, with their byte widths. */
const STORAGE_TYPES: Record<string, { dtype: string; bytes: number }> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};

/** A storage referenced by the pickle (persistent id); its bytes are read from the archive when needed. */
interface TorchStorage {
  readonly kind: 'storage';
  readonly dtype: string;
  readonly elementBytes: number;
  readonly key: string;
  readonly numel: number;
}

/** A tensor read from a torch file: a HostTensor whose `data` (float32) is decoded on first access. */
export interface TorchTensor extends HostTensor {
  /** The original element type (float32, float16, int64, …); `data` is always float32. */
  readonly dtype: string;
}

export interface TorchLoadOptions {
  limits?: Partial<PickleLimits>;
  /** Refuse files whose archive exceeds this many bytes (default 8 GiB). */
  maxFileBytes?: number;
}

/** Whether `v` is a tensor produced by loadTorchFile. */
export function isTorchTensor(v: unknown): v is TorchTensor {
  return v instanceof LazyTensor;
}

class LazyTensor implements TorchTensor {
  private cached: Float32Array | null = null;
  constructor(
    readonly shape: number[],
    readonly dtype: string,
    private readonly decode: () => Float32Array,
  ) {}
  get data(): Float32Array {
    this.cached ??= this.decode();
    return this.cached;
  }
  set data(v: Float32Array) {
    this.cached = v;
  }
}

/**
 * Reads a torch.save file and returns its object as plain JS (Map for dicts, arrays for lists/tuples,
 * numbers/strings/null, TorchTensor for tensors).
 * @throws CheckpointError for unreadable, truncated, legacy-format or hostile files (a refused global is named).
 */
export function loadTorchFile(file: string, opts: TorchLoadOptions = {}): unknown {
  let bytes: Uint8Array;
  try {
    const size = fs.statSync(file).size;
    if (size > (opts.maxFileBytes ?? 8 * 2 ** 30)) throw new Error(`file of ${size} bytes exceeds the limit`);
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new CheckpointError(file, '', `cannot read: ${(err as Error).message}`);
  }
  return decodeTorchFile(bytes, file, opts);
}

/** As loadTorchFile, from bytes in memory. */
export function decodeTorchFile(bytes: Uint8Array, file = '<torch file>', opts: TorchLoadOptions = {}): unknown {
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new CheckpointError(file, '', 'not a zip-format torch.save file (legacy pre-1.6 files are not supported; re-save with torch>=1.6)');
  }
  const zip = new ZipArchive(bytes, file);
  const pkl = zip.names().find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) throw new CheckpointError(file, 'data.pkl', 'archive has no <name>/data.pkl member');
  const root = pkl.slice(0, -'data.pkl'.length);
  if (zip.entries.has(`${root}byteorder`)) {
    const order = Buffer.from(zip.read(`${root}byteorder`)).toString('latin1');
    if (order !== 'little') throw new CheckpointError(file, 'byteorder', `unsupported byte order '${order}'`);
  }
  // Members are read once (a deflated storage is not inflated again for every view of it).
  const members = new Map<string, Uint8Array>();
  const read = (s: TorchStorage): Uint8Array => {
    const name = `${root}data/${s.key}`;
    const data = members.get(name) ?? zip.read(name);
    members.set(name, data);
    if (data.length < s.numel * s.elementBytes) {
      throw new CheckpointError(file, `data/${s.key}`, `storage has ${data.length} bytes, expected ${s.numel * s.elementBytes}`);
    }
    return data;
  };
  const ctx: TensorContext = { file, read, decodeBudget: DECODE_RATIO * bytes.length + DECODE_SLACK };
  return unpickle(zip.read(pkl), {
    file,
    limits: opts.limits,
    resolveGlobal: (m, n) => resolveTorchGlobal(m, n, ctx),
    persistentLoad: (pid) => loadStorage(pid, file),
  });
}

/**
 * Views share storages, so a few bytes of pickle can ask for the same megabytes of storage again and again. All
 * tensors of one file together may decode to at most this many float32 bytes per byte of the file (4 is a uint8
 * storage decoded once), plus `DECODE_SLACK`.
 */
const DECODE_RATIO = 16;
const DECODE_SLACK = 1 << 20;

/** What rebuilding a tensor needs: the file (for errors), its storage reader and the decode budget left. */
interface TensorContext {
  readonly file: string;
  readonly read: (s: TorchStorage) => Uint8Array;
  decodeBudget: number;
}

function loadStorage(pid: unknown, file: string): TorchStorage {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
    throw new CheckpointError(file, '', `unsupported persistent id ${previewValue(pid)}`);
  }
  const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
  const t = type as Partial<PickleGlobal> & { storage?: { dtype: string; bytes: number } };
  if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) throw new CheckpointError(file, '', `bad storage key ${previewValue(key)}`);
  if (!t?.storage) throw new CheckpointError(file, key, 'persistent id does not name a storage type');
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new CheckpointError(file, key, 'bad storage size');
  return { kind: 'storage', dtype: t.storage.dtype, elementBytes: t.storage.bytes, key, numel };
}

function resolveTorchGlobal(module: string, name: string, ctx: TensorContext): PickleGlobal | undefined {
  const id = `${module}.${name}`;
  if (id === 'collections.OrderedDict') {
    // BUILD on a state_dict sets its `_metadata` attribute: irrelevant here, ignored.
    return { module, name, call: (args) => new Map(pairsArgument(args, id, ctx.file)), build: () => undefined };
  }
  if (id === 'builtins.set' || id === '__builtin__.set' || id === 'builtins.frozenset' || id === '__builtin__.frozenset') {
    return { module, name, call: (args) => new Set(listArgument(args, id, ctx.file)) };
  }
  if (id === 'torch._utils._rebuild_tensor_v2') return { module, name, call: (args) => rebuildTensor(args, ctx) };
  if (id === 'torch._utils._rebuild_parameter') return { module, name, call: (args) => args[0] };
  // Own keys only: `torch.constructor` or `torch.__proto__` is not a storage type.
  if (module === 'torch' && Object.hasOwn(STORAGE_TYPES, name)) {
    return { module, name, storage: STORAGE_TYPES[name] } as PickleGlobal;
  }
  return undefined;
}

/** The optional iterable argument of set(x)/frozenset(x): absent (empty), a list/tuple or a set. */
function listArgument(args: readonly unknown[], id: string, file: string): Iterable<unknown> {
  const x = args[0];
  if (x === undefined) return [];
  if (Array.isArray(x) || x instanceof Set) return x;
  throw new CheckpointError(file, id, `expected a list or set argument, got ${previewValue(x)}`);
}

/** The optional argument of OrderedDict(x): absent, a dict, or a list of (key, value) pairs. */
function pairsArgument(args: readonly unknown[], id: string, file: string): Iterable<readonly [unknown, unknown]> {
  const x = args[0];
  if (x === undefined) return [];
  if (x instanceof Map) return x;
  if (Array.isArray(x) && x.every((p) => Array.isArray(p) && p.length === 2)) return x as Array<[unknown, unknown]>;
  throw new CheckpointError(file, id, `expected a dict or a list of (key, value) pairs, got ${previewValue(x)}`);
}

function isIntList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);
}

function rebuildTensor(args: readonly unknown[], ctx: TensorContext): TorchTensor {
  const { file } = ctx;
  const [storage, offset, size, stride] = args as [TorchStorage, unknown, unknown, unknown];
  if (storage?.kind !== 'storage') throw new CheckpointError(file, '', '_rebuild_tensor_v2 without a storage');
  // A negative offset would read the archive bytes before the storage member.
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || !isIntList(size) || !isIntList(stride) || size.length !== stride.length) {
    throw new CheckpointError(file, `data/${storage.key}`, `malformed tensor geometry: offset ${previewValue(offset)}, size ${previewValue(size)}, stride ${previewValue(stride)}`);
  }
  const numel = size.reduce((a, b) => a * b, 1);
  const last = (offset as number) + size.reduce((acc, d, i) => acc + (d > 0 ? (d - 1) * (stride[i] as number) : 0), 0);
  if (numel > 0 && (last >= storage.numel || numel > storage.numel)) {
    throw new CheckpointError(file, `data/${storage.key}`, `tensor ${previewValue(size)} at offset ${offset} does not fit a storage of ${storage.numel} elements`);
  }
  return new LazyTensor([...size], storage.dtype, () => {
    if (4 * numel > ctx.decodeBudget) {
      throw new CheckpointError(file, `data/${storage.key}`, `its tensors decode to more than ${DECODE_RATIO}x the file's size (many views of one storage?)`);
    }
    ctx.decodeBudget -= 4 * numel;
    return gather(ctx.read(storage), storage, offset as number, size, stride);
  });
}

function elementReader(bytes: Uint8Array, dtype: string): (i: number) => number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32':
      return (i) => v.getFloat32(4 * i, true);
    case 'float64':
      return (i) => v.getFloat64(8 * i, true);
    case 'float16':
      return (i) => halfToFloat32(v.getUint16(2 * i, true));
    case 'bfloat16':
      return (i) => bf16ToFloat32(v.getUint16(2 * i, true));
    case 'int64':
      return (i) => Number(v.getBigInt64(8 * i, true));
    case 'int32':
      return (i) => v.getInt32(4 * i, true);
    case 'int16':
      return (i) => v.getInt16(2 * i, true);
    case 'int8':
      return (i) => v.getInt8(i);
    default:
      return (i) => v.getUint8(i);
  }
}

function isContiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if ((size[d] as number) !== 1 && stride[d] !== expect) return false;
    expect *= size[d] as number;
  }
  return true;
}

/** Copies a strided view of a storage into a contiguous float32 array. */
function gather(bytes: Uint8Array, s: TorchStorage, offset: number, size: number[], stride: number[]): Float32Array {
  const numel = size.reduce((a, b) => a * b, 1);
  if (s.dtype === 'float32' && isContiguous(size, stride)) {
    // Fast path (nearly every weight): one copy into an aligned buffer.
    const start = bytes.byteOffset + 4 * offset;
    return new Float32Array(bytes.buffer.slice(start, start + 4 * numel));
  }
  const out = new Float32Array(numel);
  const at = elementReader(bytes, s.dtype);
  const rank = size.length;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  for (let o = 0; o < numel; o++) {
    out[o] = at(src);
    // Odometer increment over the logical index, updating the source offset incrementally.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      src += stride[d] as number;
      if ((idx[d] as number) < (size[d] as number)) break;
      src -= (size[d] as number) * (stride[d] as number);
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * The tensors of a state dict `obj` (a Map or object) whose keys start with `prefix`, with the prefix
 * stripped, in file order. Non-tensor entries are skipped.
 * @throws CheckpointError (naming `file` and `prefix`) when `obj` is not a dict or nothing matches.
 */
export function stateDictFrom(obj: unknown, prefix: string, file = '<state dict>'): Map<string, TorchTensor> {
  const entries: Iterable<[unknown, unknown]> =
    obj instanceof Map ? obj : typeof obj === 'object' && obj !== null ? Object.entries(obj) : [];
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of entries) {
    if (typeof k === 'string' && k.startsWith(prefix) && isTorchTensor(v)) out.set(k.slice(prefix.length), v);
  }
  if (out.size === 0) throw new CheckpointError(file, prefix, 'no tensors under this prefix');
  return out;
}

/** `obj[key]` for a Map or object loaded from a torch file, or undefined. */
export function getField(obj: unknown, key: string): unknown {
  if (obj instanceof Map) return obj.get(key);
  if (typeof obj === 'object' && obj !== null) return (obj as Record<string, unknown>)[key];
  return undefined;
}
