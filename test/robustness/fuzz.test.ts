/**
 * Fuzzing every reader of outside files (torch.save zip + pickle, safetensors, tfjs model.json / weight manifests
 * and shards, result / quality / comparison CSV and JSONL, YAML configs) with seeded mutations of valid files, plus
 * one named regression test per crash the fuzzer (or the review that came with it) found, each with its minimal
 * input. The same harness runs 10,000 cases per reader in `bench/fuzz.ts`; see fixtures/fuzz-readers.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDiffusionConfig } from '../../src/diffusion/config.js';
import { readGraphModelWeights } from '../../src/fr/mobileface-graph.js';
import { decodeToHost, readWeightManifest } from '../../src/fr/tfjs-weights.js';
import { unpickle } from '../../src/io/pickle.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { decodeTorchFile, getField } from '../../src/io/torch-file.js';
import type { HostTensor } from '../../src/nn/params.js';
import { readErrors, readResults } from '../../src/pipelines/records.js';
import { CheckpointError, ConfigError, DataError, DiffiqaError } from '../../src/util/errors.js';
import { writeStoredZip } from './fixtures/fuzz-mutators.js';
import { FUZZ_READERS, type FuzzTarget, fuzzTarget, prepareTarget, retainedBytes, runCase } from './fixtures/fuzz-readers.js';

const CASES = 250;
const SEED = 'diffiqa-fuzz-test';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-fuzz-test-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function write(name: string, content: string | Uint8Array): string {
  const file = path.join(root, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

/** Runs `fn` and returns what it threw (failing the test when it returns). */
function thrown(fn: () => unknown): Error {
  try {
    retainedBytes(fn());
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, but the input loaded');
}

/** The error of `fn` is the project's `cls`, names `file` and matches `reason`. */
function expectRefused(fn: () => unknown, cls: new (...a: never[]) => DiffiqaError, file: string, reason: RegExp): void {
  const err = thrown(fn);
  expect(err, err.stack).toBeInstanceOf(cls);
  expect(err.message).toContain(file);
  expect(err.message).toMatch(reason);
}

describe.each(FUZZ_READERS.map((r) => [r.name, r] as const))('fuzzing %s', (_, reader) => {
  let target: FuzzTarget;
  beforeAll(() => {
    target = prepareTarget(reader, root);
  });

  it('loads every seed file unmutated', () => {
    for (const seed of target.seeds) {
      const dir = path.join(target.dir, `seed-${seed.label.replace(/[^\w.-]+/g, '_')}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const f of seed.files) fs.writeFileSync(path.join(dir, f.name), f.bytes);
      expect(retainedBytes(reader.load(path.join(dir, seed.main), dir)), seed.label).toBeGreaterThan(0);
    }
  });

  it(`${CASES} seeded mutations each load or raise a DiffiqaError naming the file, fast and without blow-up`, () => {
    const sum = fuzzTarget(target, SEED, CASES);
    const failures = sum.failures.map((f) => `seed '${f.seed}' case ${f.index}: ${f.detail.slice(0, 300)}`);
    expect(failures, `rerun one with: node --import tsx bench/fuzz.ts --reader ${reader.name} --seed ${SEED} --first I --cases 1 --keep DIR`).toEqual([]);
    // Both outcomes occur: the mutations neither only break the seeds nor leave them all intact.
    expect(sum.loaded).toBeGreaterThan(0);
    expect(sum.rejected).toBeGreaterThan(0);
  });

  it('reruns a single case identically from its index', () => {
    const a = runCase(target, SEED, 7);
    const b = runCase(target, SEED, 7);
    expect([b.outcome, b.fileBytes, b.detail]).toEqual([a.outcome, a.fileBytes, a.detail]);
  });
});

// ---- regression tests: minimal inputs of the crashes found --------------------------------------------------------

const bytes = (...parts: Array<number[] | Uint8Array>): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
/** Pickle pieces: PROTO 2, SHORT_BINUNICODE, BININT, GLOBAL, MARK, TUPLE, REDUCE, STOP. */
const P = {
  proto: [0x80, 2],
  str: (s: string): number[] => [0x8c, s.length, ...ascii(s)],
  int: (v: number): number[] => [0x4a, ...le32(v)],
  global: (m: string, n: string): number[] => [0x63, ...ascii(`${m}\n${n}\n`)],
  mark: [0x28],
  tuple: [0x74],
  reduce: [0x52],
  stop: [0x2e],
};
/** `_rebuild_tensor_v2(storage('0', FloatStorage, numel), offset, (size,), (1,))`. */
function tensorPickle(numel: number, offset: number, size: number): number[] {
  const storage = [...P.mark, ...P.str('storage'), ...P.global('torch', 'FloatStorage'), ...P.str('0'), ...P.str('cpu'), ...P.int(numel), ...P.tuple, 0x51];
  return [...P.global('torch._utils', '_rebuild_tensor_v2'), ...P.mark, ...storage, ...P.int(offset), ...P.mark, ...P.int(size), ...P.tuple, ...P.mark, ...P.int(1), ...P.tuple, ...P.tuple, ...P.reduce];
}
/** A torch.save-layout archive holding `pkl` and storage `0`. */
function torchZip(pkl: Uint8Array, storage = new Uint8Array(16)): Uint8Array {
  return writeStoredZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: storage }]);
}

describe('regressions: torch.save zip and pickle', () => {
  it('APPENDS with 200,000 items loads (spreading them into push() overflowed the stack: RangeError)', () => {
    const n = 200_000;
    const pkl = bytes(P.proto, [0x5d, 0x28], new Uint8Array(n).fill(0x4e), [0x65], P.stop);
    const list = unpickle(pkl, { resolveGlobal: () => undefined, file: 'wide.pkl' }) as unknown[];
    expect(list.length).toBe(n);
  });

  it('a persistent id nested 100,000 lists deep is refused (String(pid) in the message overflowed: RangeError)', () => {
    const n = 100_000;
    const pkl = bytes(P.proto, new Uint8Array(n).fill(0x5d), new Uint8Array(n - 1).fill(0x61), [0x51], P.stop);
    expectRefused(() => decodeTorchFile(torchZip(pkl), 'deep-pid.pt'), CheckpointError, 'deep-pid.pt', /unsupported persistent id \[\[\[/);
  });

  it('OrderedDict(5) and set(5) are refused (new Map(5) threw a TypeError)', () => {
    for (const [m, n] of [['collections', 'OrderedDict'], ['builtins', 'set']] as const) {
      const pkl = bytes(P.proto, P.global(m, n), [0x4b, 5, 0x85], P.reduce, P.stop);
      expectRefused(() => decodeTorchFile(torchZip(pkl), 'call.pt'), CheckpointError, 'call.pt', new RegExp(`${m}\\.${n}.*expected a`));
    }
  });

  it('a negative storage offset is refused (it read the archive bytes before the storage)', () => {
    const pkl = bytes(P.proto, tensorPickle(4, -2, 2), P.stop);
    expectRefused(() => decodeTorchFile(torchZip(pkl), 'neg.pt'), CheckpointError, 'neg.pt', /malformed tensor geometry: offset -2/);
    const ok = decodeTorchFile(torchZip(bytes(P.proto, tensorPickle(4, 2, 2), P.stop)), 'ok.pt') as HostTensor;
    expect(Array.from(ok.data)).toEqual([0, 0]);
  });

  it('torch.constructor is not a storage type (`name in STORAGE_TYPES` found Object.prototype)', () => {
    const pkl = bytes(P.proto, P.mark, P.str('storage'), P.global('torch', 'constructor'), P.str('0'), P.str('cpu'), P.int(4), P.tuple, [0x51], P.stop);
    expectRefused(() => decodeTorchFile(torchZip(pkl), 'proto.pt'), CheckpointError, 'proto.pt', /refusing global 'torch\.constructor'/);
  });

  it('400 views of one 64 KiB storage stop at 16x the file size instead of decoding 26 MB', () => {
    const numel = 16384;
    const views = 400;
    const pkl = bytes(P.proto, [0x5d, 0x28], ...new Array<number[]>(views).fill(tensorPickle(numel, 0, numel)), [0x65], P.stop);
    const file = torchZip(pkl, new Uint8Array(4 * numel));
    const list = decodeTorchFile(file, 'views.pt') as HostTensor[];
    expect(list.length).toBe(views);
    const budget = Math.floor((16 * file.length + 2 ** 20) / (4 * numel));
    for (let i = 0; i < budget; i++) expect(list[i]!.data.length).toBe(numel);
    expectRefused(() => list[budget]!.data, CheckpointError, 'views.pt', /decode to more than 16x the file's size/);
  });

  it('a deflated member declaring 4 GiB for 4 bytes is refused before inflating, saying why (was: "corrupt deflate stream")', () => {
    const zip = Buffer.from(torchZip(bytes(P.proto, [0x4e], P.stop)));
    // data.pkl marked deflated (method 8), declaring 0xfffffff0 bytes: impossible for 4 compressed bytes.
    const cd = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt16LE(8, cd + 10);
    zip.writeUInt32LE(0xfffffff0, cd + 24);
    expectRefused(() => decodeTorchFile(zip, 'bomb.pt'), CheckpointError, 'bomb.pt', /declared size 4294967280 is impossible for 4 deflated bytes/);
  });

  it('reads a stored field of the fixture archive unchanged after all this (sanity)', () => {
    const obj = decodeTorchFile(fs.readFileSync(path.join(__dirname, '../fixtures/io/tensors.pt')), 'tensors.pt');
    expect((getField(obj, 'f32') as HostTensor).shape).toEqual([2, 3]);
  });
});

/** Safetensors bytes with header `h` and `data` bytes of data. */
function safetensors(h: unknown, data: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(h));
  const out = new Uint8Array(8 + json.length + data);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('regressions: safetensors', () => {
  it('a shape nested 50,000 deep is refused (JSON.stringify in the message overflowed: RangeError)', () => {
    const text = `{"t":{"dtype":"F32","shape":${'['.repeat(50_000)}1${']'.repeat(50_000)},"data_offsets":[0,4]}}`;
    const json = Buffer.from(text);
    const b = new Uint8Array(8 + json.length + 4);
    new DataView(b.buffer).setBigUint64(0, BigInt(json.length), true);
    b.set(json, 8);
    expectRefused(() => decodeSafetensors(b, 'deep.safetensors'), CheckpointError, 'deep.safetensors [t]', /bad shape \[\[\[/);
  });

  it('tensors sharing bytes or leaving holes are refused (1,000 names of one 1 MB span would decode to 1 GB)', () => {
    const t = { dtype: 'F32', shape: [4], data_offsets: [0, 16] };
    expectRefused(() => decodeSafetensors(safetensors({ a: t, b: t }, 16), 'x.safetensors'), CheckpointError, 'x.safetensors', /overlap/);
    expectRefused(() => decodeSafetensors(safetensors({ a: { ...t, data_offsets: [8, 24] }, b: { ...t, shape: [1], data_offsets: [24, 28] } }, 28), 'x.safetensors'), CheckpointError, 'x.safetensors [a]', /data bytes 0\.\.8 belong to no tensor/);
    expectRefused(() => decodeSafetensors(safetensors({ a: t }, 20), 'x.safetensors'), CheckpointError, 'x.safetensors', /data bytes 16\.\.20 belong to no tensor/);
    expect(decodeSafetensors(safetensors({ b: { ...t, data_offsets: [16, 32] }, a: t }, 32)).tensors.size).toBe(2);
  });
});

describe('regressions: tfjs model.json and weight manifests', () => {
  const spec = { name: 'w', shape: [2], dtype: 'float32' };
  const manifest = (groups: unknown, shard = new Uint8Array(8)): string => {
    write('tfjs/w.bin', shard);
    return write('tfjs/m-weights_manifest.json', JSON.stringify(groups));
  };

  it.each([
    { what: 'null', groups: null, reason: /expected a list of weight groups/, was: 'TypeError: groups is not iterable' },
    { what: 'weights not a list', groups: [{ paths: ['w.bin'] }], reason: /expected \{paths/, was: 'TypeError: g.weights is not iterable' },
    { what: 'a shape holding an object', groups: [{ paths: ['w.bin'], weights: [{ ...spec, shape: [{}] }] }], reason: /bad shape/, was: 'Error: Tensor must have a shape comprised of positive integers' },
    { what: 'a shape larger than the shard', groups: [{ paths: ['w.bin'], weights: [{ ...spec, shape: [3] }] }], reason: /hold 8 bytes, the manifest declares 12/, was: 'Error: the tensor should have 3 values but has 2' },
    { what: 'a shape of 2^31 x 2^31', groups: [{ paths: ['w.bin'], weights: [{ ...spec, shape: [2 ** 31, 2 ** 31] }] }], reason: /shape \[2147483648,2147483648\] is too large/, was: 'Error: … should have 4611686018427388000 values but has 2' },
    { what: 'an unsupported dtype', groups: [{ paths: ['w.bin'], weights: [{ ...spec, dtype: 'string' }] }], reason: /unsupported dtype "string"/, was: "Error: Argument 'x' passed to 'cast' must be numeric tensor" },
    { what: 'an unknown quantization', groups: [{ paths: ['w.bin'], weights: [{ ...spec, quantization: { dtype: 'int4' } }] }], reason: /unsupported quantization/, was: 'Error: Weight w has unknown quantization dtype int4' },
    { what: 'uint8 quantization without scale', groups: [{ paths: ['w.bin'], weights: [{ ...spec, quantization: { dtype: 'uint8', min: 0 } }] }], reason: /needs finite min and scale/, was: "Error: … doesn't have corresponding metadata min and scale" },
    { what: 'a shard path given as a number', groups: [{ paths: [7], weights: [spec] }], reason: /expected \{paths/, was: 'TypeError: The "path" argument must be of type string' },
    { what: 'a shard outside the folder', groups: [{ paths: ['../w.bin'], weights: [spec] }], reason: /leaves the manifest folder/, was: 'it read ../w.bin' },
    { what: 'a shard listed twice', groups: [{ paths: ['w.bin', 'w.bin'], weights: [{ ...spec, shape: [4] }] }], reason: /listed twice/, was: 'loaded, reading the shard twice' },
    { what: 'a weight listed twice', groups: [{ paths: ['w.bin'], weights: [{ ...spec, shape: [1] }, { ...spec, shape: [1] }] }], reason: /listed twice/, was: 'loaded, leaking the first tensor' },
  ])('a manifest with $what is refused (was: $was)', ({ groups, reason }) => {
    const file = manifest(groups);
    expectRefused(() => readWeightManifest(file), CheckpointError, file, reason);
  });

  it('a graph model.json of `null` is refused (json.modelTopology threw a TypeError)', () => {
    const file = write('tfjs/model.json', 'null');
    expectRefused(() => readGraphModelWeights(file), CheckpointError, file, /not a tfjs graph model/);
  });

  it('decodeToHost checks specs given directly, and still decodes a valid shard', () => {
    expectRefused(() => decodeToHost([{ ...spec, shape: [4] }] as never, new ArrayBuffer(8), 'direct.json'), CheckpointError, 'direct.json', /declare 16 bytes, the data holds 8/);
    const file = manifest([{ paths: ['w.bin'], weights: [spec] }], new Uint8Array(Float32Array.from([1.5, -2]).buffer));
    expect(Array.from(readWeightManifest(file).get('w')!.data)).toEqual([1.5, -2]);
  });
});

describe('regressions: result files', () => {
  it.each([
    { what: 'a cut JSON line', line: '{"path":"a.jpg","q', reason: /r\.jsonl:2: not valid JSON/, was: 'already a DataError, kept for contrast' },
    { what: 'a `null` line', line: 'null', reason: /r\.jsonl:2: expected a JSON object, got null/, was: "TypeError: Cannot destructure property 'path' of 'obj' as it is null" },
    { what: 'a string value', line: '{"path":"b.jpg","quality":"0.5"}', reason: /r\.jsonl:2: column 'quality': expected a number, got "0.5"/, was: 'loaded "0.5" as a number' },
  ])('a JSONL result file with $what is refused (was: $was)', ({ line, reason }) => {
    const file = write('results/r.jsonl', `{"path":"a.jpg","quality":1}\n${line}\n`);
    expectRefused(() => readResults(file), DataError, file, reason);
  });

  it('an errors file with a bad line is refused naming file:line (JSON.parse threw a SyntaxError)', () => {
    const out = write('results/e.csv', 'path,q\n');
    write('results/e.csv.errors.jsonl', '{"path":"a.jpg","error":"x"}\n{"path":"b.jpg",\n');
    expectRefused(() => readErrors(out), DataError, `${out}.errors.jsonl:2`, /not valid JSON/);
  });

  it('an empty CSV value and a JSON null read back as NaN (the CSV one read as 0)', () => {
    const csv = write('results/n.csv', 'path,q,s\na.jpg,,1\n');
    const jsonl = write('results/n.jsonl', '{"path":"a.jpg","q":null,"s":1}\n');
    for (const file of [csv, jsonl]) expect(readResults(file)[0]!.values).toEqual({ q: NaN, s: 1 });
  });
});

describe('regressions: YAML configs', () => {
  const config = (name: string, text: string): string => write(`yaml/${name}`, text);

  it('a value that refers to itself is refused (JSON.stringify in the message threw on the cycle: TypeError)', () => {
    const file = config('cycle.yaml', 'unet:\n  dim: &c [*c]\n');
    expectRefused(() => loadDiffusionConfig(file), ConfigError, file, /unet\.dim: expected a positive integer, got \[\[\[/);
  });

  it('a billion-laughs alias bomb is refused at once (stringifying 10^10 leaves for the message ran for minutes, then threw RangeError: Invalid string length)', () => {
    const layers = ['&l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]'];
    for (let i = 1; i < 10; i++) layers.push(`&l${i} [${new Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    const file = config('bomb.yaml', `unet:\n  dim: [${layers.join(', ')}]\n`);
    const t0 = performance.now();
    expectRefused(() => loadDiffusionConfig(file), ConfigError, file, /unet\.dim: expected a positive integer/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('`__proto__` and `constructor` keys are unknown fields (they were accepted and ignored, or replaced a prototype)', () => {
    const top = config('proto.yaml', '__proto__:\n  dim: 1\ndata:\n  folder: faces\n');
    expectRefused(() => loadDiffusionConfig(top), ConfigError, top, /__proto__: unknown field/);
    const ctor = config('ctor.yaml', 'unet:\n  constructor: 1\ndata:\n  folder: faces\n');
    expectRefused(() => loadDiffusionConfig(ctor), ConfigError, ctor, /unet\.constructor: unknown field/);
    // Through `extends:` the merge assigned out['__proto__'] = {...}: the fields below came from the prototype.
    config('base.yaml', 'unet:\n  dim: 16\ndata:\n  folder: faces\n');
    const child = config('child.yaml', 'extends: base.yaml\nunet:\n  __proto__:\n    colours: 3\n');
    expectRefused(() => loadDiffusionConfig(child), ConfigError, child, /unet\.__proto__: unknown field/);
  });

  it('`extends:` is a path, not a URL (a name with a space became %20; "http://[" threw a TypeError)', () => {
    config('my base.yaml', 'unet:\n  dim: 16\n  resnetBlockGroups: 4\ndata:\n  folder: faces\n');
    const child = config('spaced.yaml', 'extends: my base.yaml\n');
    expect(loadDiffusionConfig(child).unet.dim).toBe(16);
    const url = config('url.yaml', 'extends: "http://[::1"\n');
    expectRefused(() => loadDiffusionConfig(url), ConfigError, path.join(root, 'yaml'), /cannot read config/);
  });

  it('`extends: /dev/zero` is refused at once (found by review: reading it never ends)', () => {
    const file = config('zero.yaml', 'extends: /dev/zero\n');
    expectRefused(() => loadDiffusionConfig(file), ConfigError, '/dev/zero', /cannot read config: not a regular file/);
  });
});
