/**
 * Promotes a diffusion checkpoint to the shipped model: its raw or EMA UNet weights are written as
 * `models/diffusion-cpu-small.safetensors` (reference names and layouts, the UnetConfig and where the weights came
 * from in the safetensors metadata) and registered in `models/manifest.json` with their SHA-256, so that
 * `diffiqa label` without `--diffusion` uses them. The model card (models/diffusion.md) is written by hand.
 *
 *   node --import tsx scripts/shipped/promote-diffusion.ts --from runs/shipped/diffusion/ckpt-0002400 [--ema]
 */
import * as path from 'node:path';
import { arg } from '../../bench/args.js';
import { initBackend } from '../../src/backend/index.js';
import { encodeUnetSafetensors, loadDiffusion } from '../../src/diffusion/load.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { registerShipped } from '../../src/models/shipped.js';

const from = arg('from', '');
if (!from) throw new Error('--from CKPT_DIR is required (a ckpt-* folder of a diffusion run)');
const ema = process.argv.includes('--ema');
await initBackend();
const { step } = loadCheckpoint(from);
const model = loadDiffusion(from, { ema });
try {
  const bytes = encodeUnetSafetensors(model.unet, { step: String(step), weights: ema ? 'ema' : 'raw', source: path.basename(from) });
  const entry = registerShipped('diffusion', 'diffusion-cpu-small.safetensors', bytes);
  process.stderr.write(`promote-diffusion: step ${step} (${ema ? 'EMA' : 'raw'} weights) -> models/${entry.file}, ${entry.bytes} bytes, sha256 ${entry.sha256}\n`);
} finally {
  model.dispose();
}
