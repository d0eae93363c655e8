import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { loadRegressor } from '../../src/pipelines/score.js';
import { resolveRegressorSpec, type RegressorConfig } from '../../src/regressor/config.js';
import { createQualityRegressor } from '../../src/regressor/model.js';
import { backboneSpecFor } from '../../src/regressor/spec.js';
import { selectParamGroups, trainRegressor } from '../../src/train/train-regressor.js';
import { readRegressorFile } from '../../src/regressor/weights.js';
import { latestCheckpoint, loadCheckpoint } from '../../src/io/checkpoint.js';
import { config, makeData, mean } from './train-helpers.js';

describe('trainRegressor (DifFIQA(R))', () => {
  it('DifFIQA(R): loss falls, best model saved atomically with its labels, BN stats move in frozen layers', async () => {
    const { root, labels } = await makeData();
    const runDir = path.join(root, 'run');
    const cfg = config('diffiqa-r', 16);
    const losses: number[] = [];
    const counts = new Set<number>();
    const r = await trainRegressor({ config: cfg, labels, data: path.join(root, 'faces'), runDir, quiet: true, onStep: (s, l) => {
      losses.push(l);
      if (s >= 2) counts.add(tf.memory().numTensors);
    } });
    expect([...counts]).toHaveLength(1); // no tensor leak across steps and validations
    expect(r.trainItems + r.valItems).toBe(24);
    expect(r.valItems).toBe(3);
    expect(r.steps).toBe(6); // full-batch: one step per epoch, so the loss is comparable across steps
    expect(r.validations).toHaveLength(6);
    expect(mean(losses.slice(-3))).toBeLessThan(0.7 * mean(losses.slice(0, 3)));
    expect(r.bestValLoss).toBe(Math.min(...r.validations.map((v) => v.valLoss)));
    expect(r.labels.min).toBeGreaterThanOrEqual(0.6);
    const { stateDict, meta } = readRegressorFile(r.bestFile!);
    expect(meta.labels).toEqual(r.labels);
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'best.json'), 'utf8')).valLoss).toBe(r.bestValLoss);
    // Frozen early layer: weights untouched, but its BatchNorm running mean updated (PyTorch model.train()).
    const init = createQualityRegressor(resolveRegressorSpec(cfg), { seed: cfg.train.seed });
    const w0 = init.params.toTorchStateDict();
    expect(Array.from(stateDict.get('base.conv1.weight')!.data)).toEqual(Array.from(w0.get('base.conv1.weight')!.data));
    expect(Array.from(stateDict.get('base.bn1.running_mean')!.data).some((v) => v !== 0)).toBe(true);
    expect(Array.from(stateDict.get('base.fc.weight')!.data)).not.toEqual(Array.from(w0.get('base.fc.weight')!.data));
    init.dispose();
    // The best model scores through the scoring pipeline.
    const scorer = loadRegressor(runDir);
    expect(scorer.score([new Float32Array(32 * 32 * 3).fill(0.5)]).length).toBe(1);
    scorer.dispose();
    // Resume continues from the last checkpoint to the new end.
    const more = await trainRegressor({ config: { ...cfg, train: { ...cfg.train, epochs: 7 } }, labels, data: path.join(root, 'faces'), runDir, resume: true, quiet: true });
    expect(more.steps).toBe(7);
    expect(more.validations).toHaveLength(1);
  });

  it('N steps + resume + N steps equals a straight 2N-step run bit for bit (weights, BN statistics)', async () => {
    const { root, labels } = await makeData();
    const base = config('diffiqa-r', 16);
    const cfg = (epochs: number): RegressorConfig => ({ ...base, train: { ...base.train, epochs, batchSize: 12, checkpointEvery: 1 } });
    const data = path.join(root, 'faces');
    await trainRegressor({ config: cfg(1), labels, data, runDir: path.join(root, 'a'), quiet: true });
    await trainRegressor({ config: cfg(2), labels, data, runDir: path.join(root, 'a'), resume: true, quiet: true });
    await trainRegressor({ config: cfg(2), labels, data, runDir: path.join(root, 'b'), quiet: true });
    const a = loadCheckpoint(latestCheckpoint(path.join(root, 'a'))!);
    const b = loadCheckpoint(latestCheckpoint(path.join(root, 'b'))!);
    expect(a.step).toBe(4); // 21 training images, batch 12: 2 steps per epoch
    expect(b.step).toBe(4);
    for (const [name, t] of b.tensors.model!) expect(Array.from(a.tensors.model!.get(name)!.data), name).toEqual(Array.from(t.data));
  });

  it('optimises the head and only the last K backbone parameter tensors (buffers and features.weight excluded)', () => {
    const r = createQualityRegressor({ kind: 'diffiqa-r', backbone: { type: 'iresnet', iresnet: { layers: [1, 1, 1, 1], width: 4, embeddingDim: 8, inputSize: 48 } }, hidden: 4 });
    const [head, tail] = selectParamGroups(r, 5, 1e-3, 1e-4);
    expect(head!.params.map(([n]) => n)).toEqual(['linear.weight', 'linear.bias']);
    // Last 5 parameters: bn2.weight, bn2.bias, fc.weight, fc.bias, features.weight (frozen), features.bias.
    expect(tail!.params.map(([n]) => n)).toEqual(['base.bn2.bias', 'base.fc.weight', 'base.fc.bias', 'base.features.bias']);
    r.dispose();
    // eDifFIQA(T)'s MobileFaceNet has 183 parameter tensors (METHOD §4.4): the last 100 train.
    const t = createQualityRegressor({ kind: 'ediffiqa', backbone: backboneSpecFor('mfn'), hidden: 8 });
    const all = selectParamGroups(t, 1000, 1e-3, 1e-4)[1]!.params;
    expect(all).toHaveLength(183);
    const last = selectParamGroups(t, 100, 1e-3, 1e-4)[1]!.params;
    expect(last.map(([n]) => n)).toEqual(all.slice(-100).map(([n]) => n));
    t.dispose();
  });
});
