import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { identityOf, readLabelledItems } from '../../src/train/regressor-labels.js';
import { compileIdentityPattern, loadRegressorConfig } from '../../src/regressor/config.js';
import { SHIPPED_IDENTITY_PATTERN } from '../../src/experiment/training-split.js';
import { DataError } from '../../src/util/errors.js';
import { writeSyntheticFaces } from './synthetic.js';

describe('readLabelledItems', () => {
  it('matches relative and absolute label paths to images under the data folder; identity = parent folder', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'labels-'));
    const data = path.join(root, 'faces');
    await writeSyntheticFaces(data, 2, 2, 16);
    const file = path.join(root, 'labels.jsonl');
    const lines = [
      { path: 'id000/img0.png', score: 0.8 },
      { path: './id000/img1.png', score: 0.7 },
      { path: path.join(data, 'id001', 'img0.png'), score: 0.75 },
      { path: 'elsewhere/img9.png', score: 0.9 },
    ];
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const { items, unmatched } = readLabelledItems(file, data);
    expect(items.map((i) => [i.rel, i.identity, i.raw])).toEqual([
      ['id000/img0.png', 'id000', 0.8],
      ['id000/img1.png', 'id000', 0.7],
      ['id001/img0.png', 'id001', 0.75],
    ]);
    expect(items.every((i) => fs.existsSync(i.file))).toBe(true);
    expect(unmatched).toEqual(['elsewhere/img9.png']);
  });

  it('refuses duplicates, non-finite scores, a missing column and a file matching nothing, naming the file', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'labels-'));
    const data = path.join(root, 'faces');
    await writeSyntheticFaces(data, 1, 2, 16);
    const file = path.join(root, 'labels.csv');
    fs.writeFileSync(file, 'path,score\nid000/img0.png,0.8\n./id000/img0.png,0.7\n');
    expect(() => readLabelledItems(file, data)).toThrow(/labelled twice/);
    fs.writeFileSync(file, 'path,score\nid000/img0.png,abc\n');
    expect(() => readLabelledItems(file, data)).toThrow(DataError);
    fs.writeFileSync(file, 'path,quality\nid000/img0.png,0.5\n');
    expect(() => readLabelledItems(file, data)).toThrow(/score must be a finite number/);
    expect(readLabelledItems(file, data, 'quality').items).toHaveLength(1);
    fs.writeFileSync(file, 'path,score\nother/a.png,0.5\n');
    expect(() => readLabelledItems(file, data)).toThrow(/labels\.csv: none of its 1 paths/);
  });

  it('identityPattern names an identity by a group of its path, so one person\'s poses share it', () => {
    const mixed = compileIdentityPattern('^(lfw/images/[^/]+|cfp/[^/]+)/');
    expect(identityOf('cfp/001/frontal/01.png', null)).toBe('cfp/001/frontal');
    expect(identityOf('cfp/001/frontal/01.png', mixed)).toBe('cfp/001');
    expect(identityOf('cfp/001/profile/03.png', mixed)).toBe('cfp/001');
    expect(identityOf('lfw/images/Ann_Smith/Ann_Smith_0001.jpg', mixed)).toBe('lfw/images/Ann_Smith');
    expect(identityOf('a/b/c.png', /^a\/b/)).toBe('a/b'); // no group: the whole match
    expect(() => identityOf('lfw/x.jpg', mixed, 'labels.csv')).toThrow(/labels\.csv: 'lfw\/x\.jpg' does not match identityPattern/);
    expect(() => identityOf('x.jpg', mixed)).toThrow(DataError);
    const shipped = compileIdentityPattern(SHIPPED_IDENTITY_PATTERN);
    expect(identityOf('degraded/lfw/images/Ann_Smith/Ann_Smith_0001.png', shipped)).toBe('lfw/images/Ann_Smith');
    expect(identityOf('degraded/cfp/001/profile/03.png', shipped)).toBe('cfp/001');
    for (const kind of ['ediffiqa', 'diffiqa-r']) {
      expect(loadRegressorConfig(path.join(import.meta.dirname, '..', '..', 'configs', 'regressor', `shipped-${kind}.yaml`)).data.identityPattern).toBe(SHIPPED_IDENTITY_PATTERN);
    }
    expect(() => compileIdentityPattern('(unclosed', 'r.yaml')).toThrow(/r\.yaml: data\.identityPattern: not a valid regular expression/);
  });
});
