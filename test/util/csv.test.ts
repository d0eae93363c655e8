/**
 * CSV through csv-parse/csv-stringify (src/util/csv.ts): RFC 4180 round trips, the reading rules kept from the
 * hand-written reader it replaced, byte-identical rewrites of the committed label files, and every writer/reader
 * pair of label, quality and comparison files with a path holding a comma, a double quote and a line break.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEdcCsv } from '../../src/eval/report.js';
import type { EvalResult } from '../../src/eval/evaluate.js';
import { loadComparisonCsv } from '../../src/eval/inputs.js';
import { loadQualityFile } from '../../src/eval/qualities.js';
import { writeTrainingLabels } from '../../src/experiment/experiment.js';
import { writePairLists } from '../../src/experiment/protocol.js';
import { LABEL_COLUMNS } from '../../src/pipelines/label.js';
import { ResultWriter, formatResultsCsv, mergeResults, readResults } from '../../src/pipelines/records.js';
import { dropPartialRecord, formatCsv, formatCsvRecord, parseCsv } from '../../src/util/csv.js';
import { DataError } from '../../src/util/errors.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'csv-'));

/** A dataset-relative path with every character that needs quoting: comma, double quote, LF and CRLF. */
const AWKWARD = 'people/Smith, "Jo"\nJr/take\r\n2.jpg';
const PLAIN = 'people/Ann/01.jpg';

describe('csv module', () => {
  it('round-trips fields with commas, quotes, line breaks and edge spaces, and leaves plain fields bare', () => {
    const rows = [[AWKWARD, ' lead', 'trail ', '', 'x'], [PLAIN, 'a"b', 'c,d', 'e\rf', '1.5']];
    const text = formatCsv(['path', 'b', 'c', 'd', 'e'], rows);
    expect(text.startsWith(`path,b,c,d,e\n"people/Smith, ""Jo""\nJr/take\r\n2.jpg"," lead","trail ",,x\n${PLAIN},`)).toBe(true);
    expect(parseCsv(text, 't.csv').rows.map((r) => r.fields)).toEqual(rows);
    expect(formatCsvRecord([PLAIN, 0.25, -3, NaN])).toBe(`${PLAIN},0.25,-3,NaN`);
  });

  it('keeps the reading rules of the reader it replaced: trimmed, lower-cased header, blank lines, CRLF, spaces', () => {
    const table = parseCsv('\ufeff Path , Score\r\n\r\na.jpg , 0.5\n  \n"b.jpg",1\r\n', 't.csv');
    expect(table.header).toEqual(['path', 'score']);
    expect(table.rows).toEqual([
      { line: 3, fields: ['a.jpg', '0.5'] },
      { line: 5, fields: ['b.jpg', '1'] },
    ]);
  });

  it('refuses malformed files naming file:line', () => {
    const bad = (text: string, message: RegExp) => {
      expect(() => parseCsv(text, 't.csv')).toThrow(DataError);
      expect(() => parseCsv(text, 't.csv')).toThrow(message);
    };
    bad('', /^t\.csv: empty file: a CSV header is required$/);
    bad('path,score\na.jpg\n', /^t\.csv:2: expected 2 fields \(path,score\), got 1$/);
    bad('path,score\na.jpg,1\n"b.jpg,2\n', /^t\.csv:\d+: Quote Not Closed/);
    bad('path,score\na"b.jpg,1\n', /^t\.csv:2: Invalid Opening Quote/);
  });

  it('drops only a record cut short, and leaves a malformed file for the reader to report', () => {
    const done = `path,score\n${formatCsvRecord([AWKWARD, 1])}\n`;
    expect(dropPartialRecord(done)).toBe(done);
    expect(dropPartialRecord(`${done}plain.jpg,0.`)).toBe(done);
    // Cut inside a quoted path, just after one of its line breaks: the file still ends in "\n".
    expect(dropPartialRecord(`${done}"people/x\n`)).toBe(done);
    expect(dropPartialRecord(`${done}"people/x\ny.jpg",0.`)).toBe(done);
    // A stray quote is not a kill: whole lines stay, so that parseCsv names the line.
    const stray = `${done}a"b.jpg,1\nc.jpg,2\n`;
    expect(dropPartialRecord(stray)).toBe(stray);
    expect(dropPartialRecord(`${stray}d.jp`)).toBe(stray);
  });

  it('rewrites the committed label files byte for byte', () => {
    for (const rel of ['models/training-labels.csv', 'results/labels/lfw-eval-folds.csv']) {
      const file = path.join(ROOT, rel);
      const rows = readResults(file);
      expect(rows.length, rel).toBeGreaterThan(1000);
      expect(formatResultsCsv(LABEL_COLUMNS, rows) === fs.readFileSync(file, 'utf8'), rel).toBe(true);
    }
  });
});

describe('every label, quality and comparison writer/reader pair round-trips an awkward path', () => {
  const rows = [
    { path: AWKWARD, values: { score: 0.25, noised: 1, restored: 2, noised_flip: 3, restored_flip: 4, flip: 5 } },
    { path: PLAIN, values: { score: -0.5, noised: 1, restored: 2, noised_flip: 3, restored_flip: 4, flip: NaN } },
    { path: ' edge spaces ', values: { score: 1e-7, noised: 1, restored: 2, noised_flip: 3, restored_flip: 4, flip: 6 } },
  ];

  it('label files: ResultWriter, its resume and merge, and writeTrainingLabels, read by readResults', () => {
    const dir = tmp();
    const labels = path.join(dir, 'labels.csv');
    new ResultWriter(labels, LABEL_COLUMNS).append(rows.slice(0, 1));
    // Reopened (as a resumed run does): the quoted line break must not look like a half-written line.
    new ResultWriter(labels, LABEL_COLUMNS).append(rows.slice(1));
    expect(readResults(labels)).toEqual(rows);
    expect(fs.readFileSync(labels, 'utf8')).toContain(`\n${PLAIN},-0.5,1,2,3,4,\n`);
    // A kill inside a quoted path, just after its line break: the next run drops that record and appends.
    const killed = path.join(dir, 'killed.csv');
    new ResultWriter(killed, LABEL_COLUMNS).append(rows.slice(0, 1));
    fs.appendFileSync(killed, '"people/cut\n');
    new ResultWriter(killed, LABEL_COLUMNS).append(rows.slice(1));
    expect(readResults(killed)).toEqual(rows);

    const merged = path.join(dir, 'merged.csv');
    mergeResults([labels], merged);
    expect(readResults(merged)).toEqual([...rows].sort((a, b) => (a.path < b.path ? -1 : 1)));

    const training = path.join(dir, 'training.csv');
    expect(writeTrainingLabels(labels, [AWKWARD, ' edge spaces '], training)).toBe(2);
    expect(readResults(training)).toEqual([rows[0], rows[2]]);
  });

  it('quality files: the scorer\'s ResultWriter, read by loadQualityFile', () => {
    const file = path.join(tmp(), 'scores.csv');
    new ResultWriter(file, ['quality']).append([
      { path: AWKWARD, values: { quality: 0.75 } },
      { path: PLAIN, values: { quality: 0.5 } },
    ]);
    expect(loadQualityFile(file)).toEqual(new Map([[AWKWARD, 0.75], [PLAIN, 0.5]]));
  });

  it('comparison files: writePairLists, read by loadComparisonCsv', () => {
    const dir = tmp();
    const pairs = [
      { a: AWKWARD, b: PLAIN, mated: true, fold: 1 },
      { a: PLAIN, b: 'people/Bo/02.jpg', mated: false, fold: 7 },
    ];
    writePairLists({ lfwTrainImages: [], degraded: [], sets: [{ name: 'lfw', pairs, images: [], resolve: (k) => k }] }, dir);
    expect(loadComparisonCsv(path.join(dir, 'lfw.csv'), { requireScore: false })).toEqual(pairs.map((p) => ({ ...p, score: NaN })));
  });

  it('edc.csv: buildEdcCsv, read back by parseCsv', () => {
    const point = { discard: 0.1, fnmr: 0.02, threshold: 0.3, discardActual: 0.1 };
    const result = { method: 'Ours, "v2"\nfinal', fr: 'mobileface', dataset: 'lfw', curve: { points: [point] } } as unknown as EvalResult;
    const table = parseCsv(buildEdcCsv([result]), 'edc.csv');
    expect(table.rows.map((r) => r.fields)).toEqual([['Ours, "v2"\nfinal', 'mobileface', 'lfw', '0.1', '0.02', '0.3', '0.1']]);
  });
});
