import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { buildProtocol, choosePairs, degradedKey, getSet, writeDegradedCopies } from '../../src/experiment/protocol.js';
import type { Pair } from '../../src/eval/inputs.js';
import { ConfigError } from '../../src/util/errors.js';
import { writeTinyCfp, writeTinyLfw } from './tiny-data.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-protocol-'));

function writeConfig(name: string, body: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, body);
  return file;
}

const BASE = (out: string) => `out: ${out}
data: { lfw: ${tmp}/lfw, cfp: ${tmp}/cfp }
diffusion: { config: configs/diffusion/cpu-small.yaml, data: ${tmp}/lfw/images }
regressors: []
`;

describe('experiment protocol', () => {
  beforeAll(async () => {
    await writeTinyLfw(path.join(tmp, 'lfw'));
    await writeTinyCfp(path.join(tmp, 'cfp'));
  });

  it('keeps a seeded half-mated subset per fold, in the original order', () => {
    const pairs: Pair[] = [];
    for (let fold = 1; fold <= 3; fold++) {
      for (let i = 0; i < 10; i++) pairs.push({ a: `f${fold}/m${i}a`, b: `f${fold}/m${i}b`, mated: true, fold });
      for (let i = 0; i < 10; i++) pairs.push({ a: `f${fold}/n${i}a`, b: `f${fold}/n${i}b`, mated: false, fold });
    }
    const chosen = choosePairs(pairs, [1, 3], 5, 'seed');
    expect(chosen.length).toBe(10);
    for (const fold of [1, 3]) {
      expect(chosen.filter((p) => p.fold === fold && p.mated).length).toBe(3);
      expect(chosen.filter((p) => p.fold === fold && !p.mated).length).toBe(2);
    }
    expect(chosen.some((p) => p.fold === 2)).toBe(false);
    const order = chosen.map((p) => pairs.indexOf(p));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(choosePairs(pairs, [1, 3], 5, 'seed')).toEqual(chosen);
    expect(choosePairs(pairs, [1, 3], 5, 'other')).not.toEqual(chosen);
    expect(choosePairs(pairs, [2], null, 'seed').length).toBe(20);
  });

  it('builds LFW, cross-quality LFW and CFP-FP sets from the config', () => {
    const cfg = loadExperimentConfig(writeConfig('a.yaml', `${BASE(`${tmp}/out`)}protocol: { trainFolds: [1, 2], testFolds: [3, 4], cfpFolds: [1, 2] }\n`));
    const p = buildProtocol(cfg);
    expect(p.lfwTrainImages.sort()).toEqual(['Person1A', 'Person1B', 'Person1C', 'Person2A', 'Person2B', 'Person2C'].flatMap((n) =>
      n.endsWith('A') ? [`images/${n}/${n}_0001.jpg`, `images/${n}/${n}_0002.jpg`] : [`images/${n}/${n}_0001.jpg`],
    ).sort());
    const lfw = getSet(p, 'lfw');
    const xq = getSet(p, 'xq-lfw');
    expect(lfw.pairs.map((q) => q.fold)).toEqual([3, 3, 4, 4]);
    expect(xq.pairs.map((q) => q.a)).toEqual(lfw.pairs.map((q) => q.a));
    expect(xq.pairs.map((q) => q.b)).toEqual(lfw.pairs.map((q) => degradedKey(q.b)));
    expect(xq.resolve('xq/images/X/X_0001.png')).toBe(path.join(`${tmp}/out`, 'xq/images/X/X_0001.png'));
    expect(xq.resolve(lfw.pairs[0]!.a)).toBe(path.join(`${tmp}/lfw`, lfw.pairs[0]!.a));
    const cfp = getSet(p, 'cfp-fp');
    expect(cfp.pairs.length).toBe(4);
    for (const k of cfp.images) expect(fs.existsSync(cfp.resolve(k))).toBe(true);
  });

  it('writes deterministic degraded copies and keeps existing ones', async () => {
    const body = `${BASE(`${tmp}/out1`)}protocol: { trainFolds: [1], testFolds: [2] }\n`;
    const cfg1 = loadExperimentConfig(writeConfig('b1.yaml', body));
    const cfg2 = loadExperimentConfig(writeConfig('b2.yaml', body.replace('out1', 'out2')));
    const p = buildProtocol(cfg1);
    expect(await writeDegradedCopies(cfg1, p)).toBe(p.degraded.length);
    expect(await writeDegradedCopies(cfg2, p)).toBe(p.degraded.length);
    expect(await writeDegradedCopies(cfg1, p)).toBe(0);
    for (const d of p.degraded) {
      const a = fs.readFileSync(path.join(`${tmp}/out1`, d.key));
      expect(a.equals(fs.readFileSync(path.join(`${tmp}/out2`, d.key)))).toBe(true);
      expect(a.equals(fs.readFileSync(path.join(`${tmp}/lfw`, d.source)))).toBe(false);
    }
  });

  it('rejects overlapping folds, duplicate method names and unknown fields with the field named', () => {
    expect(() => loadExperimentConfig(writeConfig('c.yaml', `${BASE('x')}protocol: { trainFolds: [1, 2], testFolds: [2, 3] }\n`))).toThrow(/protocol\.testFolds.*2/);
    const dup = `${BASE('x').replace('regressors: []', 'regressors: [{ name: R, config: a.yaml }, { name: R, config: b.yaml }]')}`;
    expect(() => loadExperimentConfig(writeConfig('d.yaml', dup))).toThrow(/regressors\[1\]\.name/);
    expect(() => loadExperimentConfig(writeConfig('e.yaml', `${BASE('x')}labels: {}\n`))).toThrow(ConfigError);
    expect(() => loadExperimentConfig(writeConfig('f.yaml', `${BASE('x')}label: { repeats: two }\n`))).toThrow(/label\.repeats/);
  });
});
