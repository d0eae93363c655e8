import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTorchFile, getField, isTorchTensor, loadTorchFile, stateDictFrom } from '../../src/io/torch-file.js';
import type { HostTensor } from '../../src/nn/params.js';
import { CheckpointError } from '../../src/util/errors.js';

// Fixtures from test/fixtures/io/gen_io.py (PyTorch 1.13 torch.save).
const FIX = path.join(__dirname, '../fixtures/io');
const want = JSON.parse(fs.readFileSync(path.join(FIX, 'tensors.json'), 'utf8')) as Record<string, unknown>;

function expectTensor(got: unknown, ref: { shape: number[]; data: number[] }, name: string): void {
  expect(isTorchTensor(got), name).toBe(true);
  const t = got as HostTensor;
  expect(t.shape, name).toEqual(ref.shape);
  // The reference values went through float32 in Python, so equality is exact.
  expect(Array.from(t.data), name).toEqual(Array.from(Float32Array.from(ref.data)));
}

describe.each(['tensors.pt', 'tensors_deflated.pt'])('loadTorchFile(%s)', (file) => {
  const obj = loadTorchFile(path.join(FIX, file));

  it('decodes every dtype, view, offset and stride as PyTorch does', () => {
    for (const name of ['f32', 'f16', 'f64', 'bf16', 'i64', 'i32', 'u8', 'bool', 'transposed', 'offset', 'column', 'shared', 'scalar', 'param']) {
      expectTensor(getField(obj, name), want[name] as { shape: number[]; data: number[] }, name);
    }
    expect((getField(obj, 'f16') as { dtype: string }).dtype).toBe('float16');
  });

  it('returns containers and scalars as plain JS', () => {
    expect(getField(obj, 'nested')).toEqual([1, 2.5, 'x', null, true, [3, 'y'], new Map([['k', [4]]])]);
    expect(getField(obj, 'big')).toBe(2n ** 70n);
    expect(getField(obj, 'neg')).toBe(-5);
  });

  it('extracts a state dict by prefix', () => {
    const sd = stateDictFrom(getField(obj, 'state_dict'), 'layer.');
    expect([...sd.keys()]).toEqual(['weight', 'bias']);
    const ref = want.state_dict as Record<string, { shape: number[]; data: number[] }>;
    expectTensor(sd.get('weight'), ref['layer.weight']!, 'weight');
    expect(() => stateDictFrom(getField(obj, 'state_dict'), 'nothing.', 'f.pt')).toThrow(/f\.pt \[nothing\.\]/);
  });
});

describe('hostile and broken torch files are refused cleanly', () => {
  it('refuses a pickle that calls os.system, naming the global, without running it', () => {
    fs.rmSync('/tmp/diffiqa-pwned', { force: true });
    const file = path.join(FIX, 'evil_global.pt');
    expect(() => loadTorchFile(file)).toThrow(CheckpointError);
    expect(() => loadTorchFile(file)).toThrow(/refusing global 'posix\.system'/);
    expect(fs.existsSync('/tmp/diffiqa-pwned')).toBe(false);
  });

  it('refuses truncated archives at any cut', () => {
    const bytes = fs.readFileSync(path.join(FIX, 'tensors.pt'));
    for (const cut of [10, 100, 1000, 3000, bytes.length - 30, bytes.length - 1]) {
      const f = `cut-${cut}.pt`;
      expect(() => {
        const o = decodeTorchFile(bytes.subarray(0, cut), f);
        // A cut inside the data region surfaces when the tensor is decoded.
        void (getField(o, 'f32') as HostTensor).data;
        void (getField(o, 'param') as HostTensor).data;
      }, `cut ${cut}`).toThrow(CheckpointError);
    }
  });

  it('refuses legacy (non-zip) files and non-files with a clear error', () => {
    expect(() => decodeTorchFile(new Uint8Array([0x80, 0x02, 0x8a, 0x0a]), 'old.pt')).toThrow(/legacy/);
    expect(() => loadTorchFile(path.join(FIX, 'does-not-exist.pt'))).toThrow(/cannot read/);
  });
});
