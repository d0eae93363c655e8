import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  filterFolds,
  listPairImages,
  loadCfpPairs,
  loadComparisonCsv,
  loadLfwPairs,
  normaliseRelPath,
  parseComparisonCsv,
  parseLfwPairs,
} from '../../src/eval/inputs.js';
import { loadQualityFile, matchQualities, parseQualityCsv, parseQualityJsonl } from '../../src/eval/qualities.js';
import { DataError } from '../../src/util/errors.js';

const DATA = path.resolve(__dirname, '../../../shared/data');
const LFW = path.join(DATA, 'lfw-112');
const CFP = path.join(DATA, 'cfp');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-inputs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('LFW pairs (synthetic)', () => {
  // 2 folds x 1 mated + 1 non-mated; tabs and spaces mixed.
  const text = '2\t1\nAnn\t1\t12\nAnn 1 Bob 3\nCid\t2\t3\nDee\t1\tEve\t10\n';

  it('parses paths, mated flags and folds', () => {
    expect(parseLfwPairs(text, 'p.txt')).toEqual([
      { a: 'images/Ann/Ann_0001.jpg', b: 'images/Ann/Ann_0012.jpg', mated: true, fold: 1 },
      { a: 'images/Ann/Ann_0001.jpg', b: 'images/Bob/Bob_0003.jpg', mated: false, fold: 1 },
      { a: 'images/Cid/Cid_0002.jpg', b: 'images/Cid/Cid_0003.jpg', mated: true, fold: 2 },
      { a: 'images/Dee/Dee_0001.jpg', b: 'images/Eve/Eve_0010.jpg', mated: false, fold: 2 },
    ]);
  });

  it('names file and line of a malformed line', () => {
    // Line 4 is in fold 2's mated block but has 4 fields.
    const bad = '2 1\nAnn 1 12\nAnn 1 Bob 3\nCid 2 Dee 3\nDee 1 Eve 10\n';
    expect(() => parseLfwPairs(bad, 'p.txt')).toThrow(/p\.txt:4: expected a mated line/);
    expect(() => parseLfwPairs('2 1\nAnn x 2\nA 1 B 2\nC 1 2\nA 1 B 2\n', 'p.txt')).toThrow(/p\.txt:2: image number/);
    expect(() => parseLfwPairs('ten 300\n', 'p.txt')).toThrow(/p\.txt:1: expected a header/);
    expect(() => parseLfwPairs('2 1\nAnn 1 2\n', 'p.txt')).toThrow(/4 lines, found 1/);
  });

  it('reads a one-number header as one fold', () => {
    const pairs = parseLfwPairs('1\nAnn 1 2\nAnn 1 Bob 1\n', 'dev.txt');
    expect(pairs.map((p) => [p.mated, p.fold])).toEqual([
      [true, 1],
      [false, 1],
    ]);
  });
});

describe('comparison CSV', () => {
  it('parses columns by header name, in any order', () => {
    const rows = parseComparisonCsv('score,mated,b,a,fold\n0.5,1,x/b.jpg,./x/a.jpg,3\n-0.25,false,"y,1.jpg",z.jpg,3\n', 'c.csv');
    expect(rows).toEqual([
      { a: 'x/a.jpg', b: 'x/b.jpg', mated: true, fold: 3, score: 0.5 },
      { a: 'z.jpg', b: 'y,1.jpg', mated: false, fold: 3, score: -0.25 },
    ]);
  });

  it('names file, line and column of malformed rows', () => {
    expect(() => parseComparisonCsv('a,b,mated,score\nx,y,1,0.5\nx,y,maybe,0.5\n', 'c.csv')).toThrow(/c\.csv:3: column 'mated'/);
    expect(() => parseComparisonCsv('a,b,mated,score\nx,y,1,abc\n', 'c.csv')).toThrow(/c\.csv:2: column 'score'/);
    expect(() => parseComparisonCsv('a,b,mated,score\nx,y,1\n', 'c.csv')).toThrow(/c\.csv:2: expected 4 fields/);
    expect(() => parseComparisonCsv('x,y,1,0.5\n', 'c.csv')).toThrow(/header must name a 'a' column/);
    expect(() => parseComparisonCsv('a,b,mated\nx,y,1\n', 'c.csv')).toThrow(/'score'/);
    // Without a score column when scores are not required: NaN placeholders.
    expect(Number.isNaN(parseComparisonCsv('a,b,mated\nx,y,1\n', 'c.csv', { requireScore: false })[0]?.score)).toBe(true);
  });

  it('reads from disk and reports a missing file as DataError', () => {
    const f = path.join(tmp, 'cmp.csv');
    fs.writeFileSync(f, 'a,b,mated,score\np/1.jpg,p/2.jpg,1,0.9\n');
    expect(loadComparisonCsv(f)).toHaveLength(1);
    expect(() => loadComparisonCsv(path.join(tmp, 'nope.csv'))).toThrow(DataError);
  });
});

describe('quality files and matching', () => {
  it('accepts quality or score columns, CSV and JSONL', () => {
    expect([...parseQualityCsv('path,quality\na/1.jpg,0.5\n', 'q.csv')]).toEqual([['a/1.jpg', 0.5]]);
    expect([...parseQualityCsv('score,path\n0.25,.\\a\\2.jpg\n', 'q.csv')]).toEqual([['a/2.jpg', 0.25]]);
    expect([...parseQualityJsonl('{"path":"a/1.jpg","score":0.75}\n\n{"path":"a/2.jpg","quality":1}\n', 'q.jsonl')]).toEqual([
      ['a/1.jpg', 0.75],
      ['a/2.jpg', 1],
    ]);
  });

  it('names file and line of malformed entries', () => {
    expect(() => parseQualityCsv('path,quality\na.jpg,0.1\nb.jpg,NaN\n', 'q.csv')).toThrow(/q\.csv:3: column 'quality'/);
    expect(() => parseQualityCsv('path,quality\na.jpg,0.1\n./a.jpg,0.2\n', 'q.csv')).toThrow(/q\.csv:3: duplicate path/);
    expect(() => parseQualityCsv('file,value\n', 'q.csv')).toThrow(/header must name 'path'/);
    expect(() => parseQualityJsonl('{"path":"a.jpg","quality":1}\n{"path":"b.jpg"\n', 'q.jsonl')).toThrow(/q\.jsonl:2: not valid JSON/);
    expect(() => parseQualityJsonl('{"path":"a.jpg","quality":"high"}\n', 'q.jsonl')).toThrow(/q\.jsonl:1: expected a finite/);
  });

  it('makes absolute paths under the dataset root relative', () => {
    const root = path.join(tmp, 'ds');
    const q = parseQualityCsv(`path,quality\n${path.join(root, 'images', 'x.jpg')},0.5\n`, 'q.csv', root);
    expect([...q.keys()]).toEqual(['images/x.jpg']);
  });

  it('matches exactly, then by a unique suffix, and reports missing images', () => {
    const q = new Map([
      ['images/A/A_0001.jpg', 0.1],
      ['/other/machine/lfw/images/B/B_0001.jpg', 0.2],
      ['x/Data/01.jpg', 0.3],
      ['y/Data/01.jpg', 0.4],
    ]);
    const m = matchQualities(['images/A/A_0001.jpg', 'images/B/B_0001.jpg'], q, 'q.csv');
    expect([...m]).toEqual([
      ['images/A/A_0001.jpg', 0.1],
      ['images/B/B_0001.jpg', 0.2],
    ]);
    expect(() => matchQualities(['Data/01.jpg'], q, 'q.csv')).toThrow(/several quality paths/);
    expect(() => matchQualities(['images/A/A_0001.jpg', 'images/C/C_0001.jpg', 'images/D/D_0002.jpg'], q, 'q.csv')).toThrow(
      /q\.csv: 2 of 3 pair images have no quality, e\.g\. images\/C\/C_0001\.jpg, images\/D\/D_0002\.jpg/,
    );
  });

  it('loads by extension', () => {
    const f = path.join(tmp, 'q.jsonl');
    fs.writeFileSync(f, '{"path":"a.jpg","quality":0.5}\n');
    expect(loadQualityFile(f).get('a.jpg')).toBe(0.5);
  });

  it('normalises relative paths', () => {
    expect(normaliseRelPath('./a//b/../c.jpg')).toBe('a/c.jpg');
    expect(normaliseRelPath('Protocol/../Data/x.jpg')).toBe('Data/x.jpg');
  });
});

describe.skipIf(!fs.existsSync(path.join(LFW, 'pairs.txt')))('real LFW pairs.txt (shared/data/lfw-112)', () => {
  it('has 6000 pairs in 10 folds, every image on disk', () => {
    const pairs = loadLfwPairs(path.join(LFW, 'pairs.txt'));
    expect(pairs).toHaveLength(6000);
    expect(pairs.filter((p) => p.mated)).toHaveLength(3000);
    expect(pairs[0]).toEqual({
      a: 'images/Abel_Pacheco/Abel_Pacheco_0001.jpg',
      b: 'images/Abel_Pacheco/Abel_Pacheco_0004.jpg',
      mated: true,
      fold: 1,
    });
    expect(pairs[300]?.mated).toBe(false);
    expect(filterFolds(pairs, [6, 7, 8, 9, 10])).toHaveLength(3000);
    const images = listPairImages(pairs);
    expect(images.filter((p) => !fs.existsSync(path.join(LFW, p)))).toEqual([]);
  });
});

describe.skipIf(!fs.existsSync(path.join(CFP, 'Protocol')))('real CFP protocol (shared/data/cfp)', () => {
  it('reads FF and FP: 10 folds x 350 + 350, paths relative to the dataset root, on disk', () => {
    for (const proto of ['FF', 'FP'] as const) {
      const pairs = loadCfpPairs(CFP, proto);
      expect(pairs).toHaveLength(7000);
      expect(pairs.filter((p) => p.mated)).toHaveLength(3500);
      expect(new Set(pairs.map((p) => p.fold))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
      expect(pairs.every((p) => p.a.startsWith('Data/Images/') && p.a.includes('/frontal/'))).toBe(true);
      expect(pairs.every((p) => p.b.includes(proto === 'FF' ? '/frontal/' : '/profile/'))).toBe(true);
      expect(listPairImages(pairs).filter((p) => !fs.existsSync(path.join(CFP, p)))).toEqual([]);
    }
    // First FP mated line "5,1" in fold 01 (see Split/FP/01/same.txt): frontal #5 vs profile #1 of identity 001.
    const fp = loadCfpPairs(CFP, 'FP');
    expect(fp[0]).toEqual({ a: 'Data/Images/001/frontal/05.jpg', b: 'Data/Images/001/profile/01.jpg', mated: true, fold: 1 });
  });
});

describe('CFP protocol errors (synthetic)', () => {
  it('names file and line of a bad split line or unknown index', () => {
    const root = path.join(tmp, 'cfp');
    fs.mkdirSync(path.join(root, 'Protocol/Split/FF/01'), { recursive: true });
    fs.writeFileSync(path.join(root, 'Protocol/Pair_list_F.txt'), '1 ../Data/Images/001/frontal/01.jpg\n2 ../Data/Images/001/frontal/02.jpg\n');
    fs.writeFileSync(path.join(root, 'Protocol/Split/FF/01/same.txt'), '1,2\n');
    fs.writeFileSync(path.join(root, 'Protocol/Split/FF/01/diff.txt'), '1,2\n2,9\n');
    expect(() => loadCfpPairs(root, 'FF')).toThrow(/diff\.txt:2: index not in the pair list/);
    fs.writeFileSync(path.join(root, 'Protocol/Split/FF/01/diff.txt'), '1;2\n');
    expect(() => loadCfpPairs(root, 'FF')).toThrow(/diff\.txt:1: expected "i,j"/);
    fs.writeFileSync(path.join(root, 'Protocol/Split/FF/01/diff.txt'), '2,1\n');
    expect(loadCfpPairs(root, 'FF')[1]).toEqual({
      a: 'Data/Images/001/frontal/02.jpg',
      b: 'Data/Images/001/frontal/01.jpg',
      mated: false,
      fold: 1,
    });
  });
});
