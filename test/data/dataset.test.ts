import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PairBatch, PairDataset, type PairLoader, openPairDataset } from '../../src/data/dataset.js';
import { listImageFiles } from '../../src/data/files.js';
import { makeMixedImageFolder } from './mixed-folder.js';
import { loadTrainingPair } from '../../src/data/training-pair.js';
import { DataError } from '../../src/util/errors.js';

let dir: string;
let files: string[];
const SIZE = 24;

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function expectSameBatch(a: PairBatch, b: PairBatch): void {
  expect(b.paths).toEqual(a.paths);
  expect(b.start).toEqual(a.start);
  expect(b.next).toEqual(a.next);
  expect(sameBits(a.hq, b.hq)).toBe(true);
  expect(sameBits(a.lq, b.lq)).toBe(true);
}

beforeAll(async () => {
  dir = await makeMixedImageFolder();
  files = listImageFiles(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PairDataset', () => {
  it('is deterministic for a seed, differs for another, and a resumed run equals the straight run', async () => {
    // Two good files and a bad one: 2 batches of 2 cross the first epoch end (and the bad file, in some epoch).
    const some = [join(dir, 'rgb.jpg'), join(dir, 'zero.jpg'), join(dir, 'sub/deep.png')];
    const make = (seed: number) =>
      new PairDataset({ files: some, seed, batchSize: 2, width: SIZE, height: SIZE, prefetchBatches: 0, concurrency: 2 });
    const straight = make(7);
    const run: PairBatch[] = [await straight.nextBatch(), await straight.nextBatch()];
    expect(run[1].next.epoch).toBeGreaterThanOrEqual(1);
    const again = make(7);
    expectSameBatch(run[0], await again.nextBatch());
    const resumed = make(7);
    resumed.seek(run[0].next);
    expectSameBatch(run[1], await resumed.nextBatch());
    const o = await make(8).nextBatch();
    expect(sameBits(o.lq, run[0].lq)).toBe(false);
  });

  it('loads ahead of the consumer', async () => {
    let started = 0;
    const counting: PairLoader = (path, rng, options) => {
      started++;
      return loadTrainingPair(path, rng, options);
    };
    const good = files.filter((f) => !/zero|truncated/.test(f));
    const ds = new PairDataset({ files: good, seed: 3, batchSize: 1, width: SIZE, height: SIZE, prefetchBatches: 2, loadPair: counting });
    await ds.nextBatch();
    await new Promise((r) => setTimeout(r, 50));
    // Besides the sample consumed, the next batches' samples were started without being asked for.
    expect(started).toBeGreaterThanOrEqual(3);
    ds.dispose();
  });

  it('stateAt counts batches through epochs; errors for empty lists and all-bad data', async () => {
    const fake: PairLoader = async (path) => {
      throw new DataError(path, 'unreadable');
    };
    const ds = new PairDataset({ files: ['a.jpg', 'b.jpg', 'c.jpg'], seed: 0, batchSize: 2, loadPair: fake });
    expect(ds.stateAt(0)).toEqual({ epoch: 0, cursor: 0 });
    expect(ds.stateAt(2)).toEqual({ epoch: 1, cursor: 1 });
    await expect(ds.nextBatch()).rejects.toThrow(/no decodable image/);
    ds.dispose();
    expect(() => new PairDataset({ files: [], seed: 0, batchSize: 2 })).toThrow(DataError);
    expect(() => ds.seek({ epoch: 0, cursor: 3 })).toThrow(DataError);
  });

  it('openPairDataset lists a folder and opens a dataset on it', () => {
    const ds = openPairDataset(dir, { seed: 0, batchSize: 2 });
    expect(ds.length).toBe(files.length);
    expect([ds.width, ds.height]).toEqual([112, 112]);
    expect(() => openPairDataset(join(dir, 'nothing-*.png'), { seed: 0, batchSize: 2 })).toThrow(DataError);
  });
});
