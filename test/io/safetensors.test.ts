import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, readSafetensors } from '../../src/io/safetensors.js';
import type { HostTensor } from '../../src/nn/params.js';
import { CheckpointError } from '../../src/util/errors.js';

const FIX = path.join(__dirname, '../fixtures/io');

function sample(): Map<string, HostTensor> {
  return new Map([
    ['b.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 7]) }],
    ['a', { shape: [], data: Float32Array.from([42]) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);
}

describe('safetensors', () => {
  it('round-trips tensors bit for bit, in order, with metadata and an 8-byte aligned header', () => {
    const bytes = encodeSafetensors(sample(), { step: '500', unet: '{"dim":8}' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ step: '500', unet: '{"dim":8}' });
    expect([...tensors.keys()]).toEqual(['b.weight', 'a', 'empty']);
    for (const [k, v] of sample()) {
      expect(tensors.get(k)!.shape).toEqual(v.shape);
      expect(Buffer.from(tensors.get(k)!.data.buffer).equals(Buffer.from(v.data.buffer))).toBe(true);
    }
  });

  it('reads a file written from the spec by an independent writer (F32, F16, F64)', () => {
    const want = (JSON.parse(fs.readFileSync(path.join(FIX, 'tensors.json'), 'utf8')) as {
      safetensors: Record<string, { shape: number[]; data: number[] }>;
    }).safetensors;
    const { tensors, metadata } = readSafetensors(path.join(FIX, 'reference.safetensors'));
    expect(metadata).toEqual({ format: 'pt', note: 'gen_io.py' });
    for (const [k, v] of Object.entries(want)) {
      expect(tensors.get(k)!.shape).toEqual(v.shape);
      expect(Array.from(tensors.get(k)!.data)).toEqual(Array.from(Float32Array.from(v.data)));
    }
  });

  it('refuses truncated files, lying headers and unsupported dtypes with a CheckpointError naming the file', () => {
    const good = encodeSafetensors(sample());
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4), 'x.safetensors')).toThrow(/x\.safetensors \[a\]: data_offsets/);
    expect(() => decodeSafetensors(good.subarray(0, 5), 'x.safetensors')).toThrow(CheckpointError);
    const huge = Uint8Array.from(good);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 60n, true);
    expect(() => decodeSafetensors(huge, 'x.safetensors')).toThrow(/header length/);
    const header = (h: unknown): Uint8Array => {
      const json = Buffer.from(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + 8);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    expect(() => decodeSafetensors(header({ t: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }))).toThrow(/unsupported dtype I64/);
    expect(() => decodeSafetensors(header({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }))).toThrow(/do not fit/);
    expect(() => decodeSafetensors(header({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }))).toThrow(/bad shape/);
    expect(() => decodeSafetensors(header([1, 2]))).toThrow(/not a JSON object/);
  });
});
