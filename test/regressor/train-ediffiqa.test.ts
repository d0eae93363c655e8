import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainRegressor } from '../../src/train/train-regressor.js';
import { ConfigError } from '../../src/util/errors.js';
import { config, makeData, mean } from './train-helpers.js';

describe('trainRegressor (eDifFIQA)', () => {
  it('eDifFIQA: teacher embeddings cached, identities filtered, loss falls, best saved', async () => {
    const { root, labels } = await makeData();
    const runDir = path.join(root, 'run');
    // mobileface teacher: 256-d. A random student starts far from the teacher (L_rc ~ 1), so a lower lr.
    const base = config('ediffiqa', 256);
    const cfg = { ...base, train: { ...base.train, epochs: 8, headLr: 3e-3, backboneLr: 3e-4 } };
    const losses: number[] = [];
    const r = await trainRegressor({ config: cfg, labels, data: path.join(root, 'faces'), runDir, quiet: true, onStep: (_, l) => losses.push(l) });
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)));
    expect(r.bestFile).not.toBeNull();
    const cache = path.join(runDir, 'teacher', 'mobileface', 'teacher.emb');
    expect(fs.existsSync(cache)).toBe(true);
    const mtime = fs.statSync(cache).mtimeMs;
    const again = await trainRegressor({ config: cfg, labels, data: path.join(root, 'faces'), runDir, resume: true, quiet: true });
    expect(again.steps).toBe(r.steps);
    expect(fs.statSync(cache).mtimeMs).toBe(mtime); // nothing re-embedded
    // A student whose embedding size differs from the teacher's is refused up front.
    await expect(trainRegressor({ config: config('ediffiqa', 16), labels, data: path.join(root, 'faces'), runDir: path.join(root, 'bad'), quiet: true })).rejects.toThrow(ConfigError);
  });

});
