import { chmodSync, closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SkippedEntry, globToRegExp, listImageFiles } from '../../src/data/files.js';
import { DataError } from '../../src/util/errors.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'diffiqa-files-'));
  for (const sub of ['a', 'a/deep', 'b', 'locked', 'empty']) mkdirSync(join(dir, sub), { recursive: true });
  for (const f of ['a/1.jpg', 'a/2.PNG', 'a/deep/3.JpEg', 'a/deep/4.webp', 'b/5.tif', 'b/6.TIFF', 'b/notes.txt', 'b/7.gif', 'top.png']) {
    writeFileSync(join(dir, f), 'x');
  }
  writeFileSync(join(dir, 'locked/8.jpg'), 'x');
  chmodSync(join(dir, 'locked'), 0o000);
  symlinkSync(dir, join(dir, 'a/deep/loop')); // a loop back to the root
  symlinkSync(join(dir, 'b'), join(dir, 'b-link')); // the same folder reachable twice
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.jpg'));
  // A name that is not valid UTF-8 (Latin-1 é).
  writeFileSync(Buffer.concat([Buffer.from(join(dir, 'b') + '/caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]), 'x');
});

afterAll(() => {
  chmodSync(join(dir, 'locked'), 0o755);
  rmSync(dir, { recursive: true, force: true });
});

describe('listImageFiles', () => {
  it('walks folders recursively, case-insensitive extensions, sorted; survives loops and bad entries', () => {
    const skipped: SkippedEntry[] = [];
    const files = listImageFiles(dir, { onSkip: (e) => skipped.push(e) });
    const rel = files.map((f) => f.slice(dir.length + 1));
    expect(rel).toContain('a/1.jpg');
    expect(rel).toContain('a/2.PNG');
    expect(rel).toContain('a/deep/3.JpEg');
    expect(rel).toContain('a/deep/4.webp');
    expect(rel).toContain('top.png');
    expect(rel.some((f) => f.endsWith('notes.txt') || f.endsWith('7.gif'))).toBe(false);
    expect(files).toEqual([...files].sort());
    // b is reachable as b/ and b-link/: each real folder is walked once, so 5.tif appears once.
    expect(rel.filter((f) => f.endsWith('5.tif'))).toHaveLength(1);
    expect(skipped.some((s) => s.path.endsWith('dangling.jpg'))).toBe(true);
    expect(skipped.some((s) => /UTF-8/.test(s.reason))).toBe(true);
    if (process.getuid?.() !== 0) {
      // root can read a 000 folder, so this part only means something for other users.
      expect(skipped.some((s) => s.path.endsWith('locked'))).toBe(true);
    }
  });

  it('accepts explicit files and globs with * and **', () => {
    expect(listImageFiles([join(dir, 'top.png')])).toEqual([join(dir, 'top.png')]);
    const deep = listImageFiles(`${dir}/a/**/*.webp`);
    expect(deep).toEqual([join(dir, 'a/deep/4.webp')]);
    const shallow = listImageFiles(`${dir}/a/*`);
    expect(shallow).toEqual([join(dir, 'a/1.jpg'), join(dir, 'a/2.PNG')]);
    const anyDepth = listImageFiles(`${dir}/**/*.jpg`);
    expect(anyDepth).toContain(join(dir, 'a/1.jpg'));
  });

  it('raises DataError naming the folder when nothing is found, or when an input is missing', () => {
    expect(() => listImageFiles(join(dir, 'empty'))).toThrow(DataError);
    expect(() => listImageFiles(join(dir, 'empty'))).toThrow(join(dir, 'empty'));
    expect(() => listImageFiles(join(dir, 'missing'))).toThrow(/does not exist/);
  });

  it('globToRegExp: * stays within a segment, ** crosses them', () => {
    expect(globToRegExp('a/*.jpg').test('a/x.jpg')).toBe(true);
    expect(globToRegExp('a/*.jpg').test('a/b/x.jpg')).toBe(false);
    expect(globToRegExp('a/**/*.jpg').test('a/x.jpg')).toBe(true);
    expect(globToRegExp('a/**/*.jpg').test('a/b/c/x.jpg')).toBe(true);
    expect(globToRegExp('a/?.jpg').test('a/xy.jpg')).toBe(false);
  });
});

describe('listImageFiles on a folder of many files (bench/many-files.ts measures a million)', () => {
  const FILES = 20_000;
  const BYTES = 16 * 1024; // sparse: 320 MiB of contents that take no disk and would show in RSS if read and kept
  let many: string;
  let expected: string[];

  beforeAll(() => {
    many = mkdtempSync(join(tmpdir(), 'diffiqa-many-'));
    mkdirSync(join(many, 'sub'));
    expected = [];
    for (let i = 0; i < FILES; i++) {
      // Most in one flat folder (one huge listing), the last thousand one level down, every 100th upper case.
      const file = join(many, i < FILES - 1000 ? '' : 'sub', `${String(i).padStart(5, '0')}.${i % 100 === 0 ? 'PNG' : 'png'}`);
      const fd = openSync(file, 'w');
      ftruncateSync(fd, BYTES);
      closeSync(fd);
      expected.push(file);
    }
    for (const f of ['notes.txt', 'sub/labels.csv']) writeFileSync(join(many, f), 'x');
    expected.sort();
  });

  afterAll(() => rmSync(many, { recursive: true, force: true }));

  it(`lists ${FILES} files correctly, holding their paths and not their contents`, () => {
    const rssBefore = process.memoryUsage.rss();
    const files = listImageFiles(many);
    const grownMiB = (process.memoryUsage.rss() - rssBefore) / 2 ** 20;
    expect(files.length).toBe(FILES);
    expect(files).toEqual(expected);
    // Paths are ~50 bytes each (about 1 MiB in all, a few MiB with V8's overheads and garbage); the contents are
    // 320 MiB. A generous bound: a regression guard against reading or keeping file data, not a measurement.
    expect(grownMiB, `RSS grew ${grownMiB.toFixed(0)} MiB while listing`).toBeLessThan(64);
  });
});
