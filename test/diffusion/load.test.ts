import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { encodeUnetSafetensors, loadDiffusion } from '../../src/diffusion/load.js';
import { CheckpointError } from '../../src/util/errors.js';

// Fixture written by test/fixtures/diffusion/gen_unet.py (PyTorch 1.13): a dim-4 UNet of the reference
// architecture saved in the diff_pretrain.pt layout, with a fixed input and the PyTorch outputs.
const FIX = path.join(__dirname, '../fixtures/diffusion');
const PT = path.join(FIX, 'tiny_unet.pt');
interface Io {
  config: { groups: number; imageSize: number; dim: number; dimMults: number[] };
  x: number[];
  xShape: [number, number, number, number];
  t: number[];
  y: number[];
  yEma: number[];
  keys: string[];
}
const io = JSON.parse(fs.readFileSync(path.join(FIX, 'tiny_unet_io.json'), 'utf8')) as Io;

function nchwToNhwc(data: number[], [b, c, h, w]: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, [b!, c!, h!, w!]), [0, 2, 3, 1]));
}

function maxRelError(got: Float32Array, want: Float32Array): number {
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs((got[i] as number) - (want[i] as number)));
    scale = Math.max(scale, Math.abs(want[i] as number));
  }
  return maxAbs / scale;
}

function runAndCompare(model: ReturnType<typeof loadDiffusion>, want: number[]): number {
  const x = nchwToNhwc(io.x, io.xShape);
  const t = tf.tensor1d(io.t, 'int32');
  const y = tf.tidy(() => model.predictX0(x, t));
  const yRef = nchwToNhwc(want, io.xShape);
  const err = maxRelError(y.dataSync() as Float32Array, yRef.dataSync() as Float32Array);
  tf.dispose([x, t, y, yRef]);
  return err;
}

const overrides = { resnetBlockGroups: io.config.groups, imageSize: io.config.imageSize };

// Every backend registered in this process (cpu always; native when its addon is built) must match PyTorch.
const BACKENDS = ['cpu', 'native'].filter((b) => tf.findBackendFactory(b) !== null);

describe.each(BACKENDS)('loadDiffusion (reference .pt layout) on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('infers the config and matches PyTorch on the raw weights', () => {
    const model = loadDiffusion(PT, { config: overrides });
    expect(model.unet.config.dim).toBe(io.config.dim);
    expect(model.unet.config.dimMults).toEqual(io.config.dimMults);
    expect(model.unet.params.names()).toEqual(io.keys);
    expect(runAndCompare(model, io.y)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('loads the EMA weights from ema_model.model.*', () => {
    const model = loadDiffusion(PT, { ema: true, config: overrides });
    expect(runAndCompare(model, io.yEma)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('round-trips through our safetensors export', () => {
    const model = loadDiffusion(PT, { config: overrides });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-unet-'));
    const file = path.join(dir, 'unet.safetensors');
    fs.writeFileSync(file, encodeUnetSafetensors(model.unet));
    model.dispose();
    const again = loadDiffusion(file); // config comes from __metadata__, no overrides
    expect(again.unet.config.resnetBlockGroups).toBe(io.config.groups);
    expect(runAndCompare(again, io.y)).toBeLessThan(1e-4);
    again.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  it('refuses a config that does not match the weights, naming the key', () => {
    expect(() => loadDiffusion(PT, { config: { ...overrides, dimMults: [1, 2, 4] } })).toThrow(CheckpointError);
    expect(() => loadDiffusion(PT, { config: { ...overrides, dim: 8 } })).toThrow(/init_conv.weight/);
  });
});
