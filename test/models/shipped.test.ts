import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot, readManifest, registerShipped, shippedModelPath, shipsModel } from '../../src/models/shipped.js';
import { CheckpointError } from '../../src/util/errors.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-shipped-'));

describe('shipped models', () => {
  it('finds the package root from a nested folder, not from the working directory', () => {
    const root = packageRoot(path.join(import.meta.dirname, '..', '..', 'src', 'models'));
    expect(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).name).toBe('diffiqa');
    expect(() => packageRoot(os.tmpdir())).toThrow(/cannot find the diffiqa package root/);
  });

  it('registers a file with its SHA-256 and returns its path once verified', () => {
    const dir = tmp();
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) % 256);
    const entry = registerShipped('diffusion', 'diffusion/unet.safetensors', bytes, dir);
    expect(entry.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(readManifest(dir).diffusion).toEqual({ file: 'diffusion/unet.safetensors', sha256: entry.sha256, bytes: 1000 });
    expect(shippedModelPath('diffusion', dir)).toBe(path.join(dir, 'diffusion/unet.safetensors'));
    expect(shipsModel('diffusion', dir)).toBe(true);
    expect(shipsModel('ediffiqa', dir)).toBe(false);
    // A second registration keeps the first entry.
    registerShipped('ediffiqa', 'ediffiqa/model.safetensors', bytes.slice(0, 10), dir);
    expect(Object.keys(readManifest(dir)).sort()).toEqual(['diffusion', 'ediffiqa']);
  });

  it('refuses a corrupted, resized, missing or unlisted model with an error naming the file', () => {
    const dir = tmp();
    const bytes = new Uint8Array(64).fill(7);
    registerShipped('diffusion', 'unet.safetensors', bytes, dir);
    const file = path.join(dir, 'unet.safetensors');
    const flipped = Uint8Array.from(bytes);
    flipped[10] = 8;
    fs.writeFileSync(file, flipped);
    expect(() => shippedModelPath('diffusion', dir)).toThrow(CheckpointError);
    expect(() => shippedModelPath('diffusion', dir)).toThrow(`${file}: shipped 'diffusion' model fails its SHA-256 check`);
    fs.writeFileSync(file, bytes.slice(0, 63));
    expect(() => shippedModelPath('diffusion', dir)).toThrow(/has 63 bytes, the manifest says 64/);
    fs.rmSync(file);
    expect(() => shippedModelPath('diffusion', dir)).toThrow(/model is missing/);
    expect(() => shippedModelPath('diffiqa-r', dir)).toThrow(/ships no 'diffiqa-r' model/);
    expect(() => readManifest(tmp())).toThrow(/manifest\.json: cannot read the shipped-model manifest/);
  });
});
