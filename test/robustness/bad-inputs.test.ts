/**
 * A corpus of bad and unusual inputs, generated in a temp dir, pushed through the real public functions:
 * listImageFiles, decodeImage, the labeller runner (runLabeller with a tiny UNet and a tiny FR model), the
 * diffusion config loader and the HTML report. Each case asserts its documented outcome (converted, skipped and
 * recorded with path and reason, or a clear error naming it); the table in README.md summarises them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listImageFiles, type SkippedEntry } from '../../src/data/files.js';
import { decodeImage } from '../../src/data/image-io.js';
import { loadDiffusionConfig } from '../../src/diffusion/config.js';
import { runLabeller } from '../../src/pipelines/label-run.js';
import { errorFileFor, readErrors, readResults } from '../../src/pipelines/records.js';
import { loadReportFaces, renderReport } from '../../src/report/index.js';
import { ConfigError, DataError } from '../../src/util/errors.js';
import { createTinyLabeller, tinyLabelOptions, writeGoodImages, type TinyLabeller } from './fixtures/tiny-models.js';

const EVIL = '<img src=x onerror=alert(1)>.jpg';
/** `f\xff.jpg`: not valid UTF-8. */
const NON_UTF8 = Buffer.from([0x66, 0xff, 0x2e, 0x6a, 0x70, 0x67]);
const FLAT = { r: 200, g: 60, b: 40 };

/** Images that must be converted, with the colour they decode to (±tol per channel, 0..255). */
const CONVERTED: Array<{ name: string; what: string; rgb: [number, number, number]; tol: number }> = [
  { name: 'deep16.png', what: '16-bit PNG', rgb: [200, 60, 40], tol: 1 },
  { name: 'cmyk.jpg', what: 'CMYK JPEG', rgb: [200, 60, 40], tol: 20 },
  { name: 'gray.png', what: 'grayscale PNG', rgb: [90, 90, 90], tol: 0 },
  // ±1: libvips resizes with premultiplied alpha, so colour under transparent pixels is rounded once.
  { name: 'rgba.png', what: 'RGBA PNG (alpha dropped, colour kept)', rgb: [10, 130, 250], tol: 1 },
  { name: 'huge.png', what: '10000x10000 PNG', rgb: [200, 60, 40], tol: 1 },
  { name: EVIL, what: 'file named like an HTML tag', rgb: [200, 60, 40], tol: 8 },
];
/** Files that must be recorded as failures, with the reason. */
const FAILED: Array<{ name: string; what: string; reason: RegExp }> = [
  { name: 'empty.jpg', what: 'zero-byte file', reason: /empty file \(0 bytes\)/ },
  { name: 'truncated.jpg', what: 'truncated JPEG', reason: /cannot decode image/ },
  { name: 'text.jpg', what: 'text file named .jpg', reason: /not a readable image/ },
  { name: 'onepx.png', what: '1x1 image', reason: /image too small: 1x1/ },
];
const GOOD = 3;

let root: string;
let data: string;
let models: TinyLabeller;

async function writeCorpus(dir: string): Promise<void> {
  await writeGoodImages(path.join(dir, 'good'), GOOD);
  const flat = { create: { width: 16, height: 16, channels: 3 as const, background: FLAT } };
  await sharp(flat).toColourspace('rgb16').png().toFile(path.join(dir, 'deep16.png'));
  await sharp(flat).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(path.join(dir, 'cmyk.jpg'));
  await sharp(Buffer.alloc(16 * 16, 90), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(path.join(dir, 'gray.png'));
  const rgba = Buffer.alloc(16 * 16 * 4);
  for (let i = 0; i < 256; i++) rgba.set([10, 130, 250, i % 3 ? 0 : 255], i * 4);
  await sharp(rgba, { raw: { width: 16, height: 16, channels: 4 } }).png().toFile(path.join(dir, 'rgba.png'));
  // A solid colour compresses to a few KB; libvips streams it, so it is cheap to write and to decode.
  await sharp({ create: { ...flat.create, width: 10000, height: 10000 } }).png().toFile(path.join(dir, 'huge.png'));
  await sharp(flat).jpeg({ quality: 95 }).toFile(path.join(dir, EVIL));
  fs.writeFileSync(path.join(dir, 'empty.jpg'), Buffer.alloc(0));
  const noisy = Buffer.alloc(64 * 64 * 3).map((_, i) => (i * 7919) % 251);
  const jpg = await sharp(noisy, { raw: { width: 64, height: 64, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  fs.writeFileSync(path.join(dir, 'truncated.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
  fs.writeFileSync(path.join(dir, 'text.jpg'), 'this is not an image\n');
  await sharp({ create: { ...flat.create, width: 1, height: 1 } }).png().toFile(path.join(dir, 'onepx.png'));
  // A symlink loop (a folder linking to its ancestor) and a link to itself (ELOOP on stat).
  fs.mkdirSync(path.join(dir, 'loop'));
  fs.symlinkSync('..', path.join(dir, 'loop', 'up'));
  fs.symlinkSync('self.jpg', path.join(dir, 'loop', 'self.jpg'));
  // A valid image under a name that is not UTF-8 (Buffer path: a string would be re-encoded).
  fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), NON_UTF8]), await sharp(flat).png().toBuffer());
}

function pixel(img: { width: number; data: Float32Array }, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [0, 1, 2].map((c) => Math.round((img.data[i + c] as number) * 255));
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-inputs-'));
  data = path.join(root, 'data');
  fs.mkdirSync(data);
  await writeCorpus(data);
  models = createTinyLabeller();
}, 60_000);

afterAll(() => {
  models?.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('bad-input corpus', () => {
  it('listImageFiles lists every readable image once, survives the symlink loop, and reports what it skips', () => {
    const skipped: SkippedEntry[] = [];
    const files = listImageFiles(data, { onSkip: (e) => skipped.push(e) });
    const expected = [...CONVERTED, ...FAILED].map((c) => path.join(data, c.name));
    expected.push(...[0, 1, 2].map((i) => path.join(data, 'good', `face0${i}.png`)));
    expect(files).toEqual([...expected].sort());
    expect(skipped.map((s) => path.relative(data, s.path))).toEqual(['f\uFFFD.jpg', 'loop/self.jpg']);
    expect(skipped[0]?.reason).toMatch(/not valid UTF-8/);
    expect(skipped[1]?.reason).toMatch(/cannot stat.*ELOOP/);
  });

  it.each(CONVERTED)('decodeImage converts $what ($name) to RGB in [0,1]', async ({ name, rgb, tol }) => {
    const img = await decodeImage(path.join(data, name));
    expect([img.width, img.height, img.data.length]).toEqual([112, 112, 112 * 112 * 3]);
    for (const [x, y] of [[0, 0], [56, 56], [111, 111]] as const) {
      pixel(img, x, y).forEach((v, c) => expect(Math.abs(v - (rgb[c] as number)), `${name} (${x},${y})[${c}]=${v}`).toBeLessThanOrEqual(tol));
    }
  });

  it.each(FAILED)('decodeImage rejects $what ($name) with a DataError naming it', async ({ name, reason }) => {
    const file = path.join(data, name);
    const err = await decodeImage(file).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).file).toBe(file);
    expect((err as DataError).reason).toMatch(reason);
  });

  it('the labeller labels every good image, records every bad one with its reason, and a rerun changes nothing', async () => {
    const out = path.join(root, 'labels.csv');
    const opts = tinyLabelOptions(data, out, 2);
    const first = await runLabeller(models.unet, models.schedule, models.fr, opts);
    const goodKeys = [...CONVERTED.map((c) => c.name), ...[0, 1, 2].map((i) => `good/face0${i}.png`)].sort();
    const rows = readResults(out);
    expect(rows.map((r) => r.path).sort()).toEqual(goodKeys);
    for (const r of rows) {
      expect(Object.keys(r.values)).toEqual(['score', 'noised', 'restored', 'noised_flip', 'restored_flip', 'flip']);
      for (const v of Object.values(r.values)) expect(Number.isFinite(v) && v >= -1 && v <= 1, `${r.path}: ${v}`).toBe(true);
    }
    const errors = readErrors(out);
    // Entries the listing itself skipped (the link loop, the non-UTF-8 name) are recorded too.
    const listed: SkippedEntry[] = [];
    listImageFiles(data, { onSkip: (e) => listed.push(e) });
    const listingKeys = listed.map((e) => path.relative(data, e.path).split(path.sep).join('/'));
    expect(listingKeys.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.path).sort()).toEqual([...FAILED.map((f) => f.name), ...listingKeys].sort());
    for (const f of FAILED) expect(errors.find((e) => e.path === f.name)?.error, f.name).toMatch(f.reason);
    expect(first).toMatchObject({ total: goodKeys.length + FAILED.length, labelled: goodKeys.length, failed: FAILED.length, skippedDone: 0 });

    const before = [fs.readFileSync(out), fs.readFileSync(errorFileFor(out))];
    const again = await runLabeller(models.unet, models.schedule, models.fr, opts);
    expect(again).toMatchObject({ labelled: 0, failed: 0, skippedDone: goodKeys.length + FAILED.length });
    expect([fs.readFileSync(out), fs.readFileSync(errorFileFor(out))]).toEqual(before);
  }, 60_000);

  // Entries the listing skips (a non-UTF-8 name, a link loop) must reach the errors file, not vanish.
  it('the labeller records listing skips (non-UTF-8 name, link loop) in its errors file', async () => {
    const dir = path.join(root, 'skips');
    await writeGoodImages(dir, 1);
    fs.symlinkSync('self.jpg', path.join(dir, 'self.jpg'));
    fs.copyFileSync(path.join(dir, 'face00.png'), Buffer.concat([Buffer.from(`${dir}/`), NON_UTF8]));
    const out = path.join(root, 'labels-skips.jsonl');
    await runLabeller(models.unet, models.schedule, models.fr, tinyLabelOptions(dir, out));
    expect(readResults(out).map((r) => r.path)).toEqual(['face00.png']);
    expect(readErrors(out).map((e) => e.path).sort()).toEqual(['f\uFFFD.jpg', 'self.jpg']);
  }, 60_000);

  it('the report built from the labeller output shows every good face, lists every bad input, and stays inert', async () => {
    const out = path.join(root, 'labels.csv');
    if (!fs.existsSync(out)) await runLabeller(models.unet, models.schedule, models.fr, tinyLabelOptions(data, out));
    const listed: SkippedEntry[] = [];
    listImageFiles(data, { onSkip: (e) => listed.push(e) });
    const { faces, skipped } = await loadReportFaces(readResults(out), { root: data, thumbSize: 32 });
    expect(skipped).toEqual([]);
    const html = renderReport({
      title: 'bad inputs',
      generatedAt: new Date(0),
      facts: [{ label: 'images', value: faces.length }],
      faces,
      skipped: [...readErrors(out).map((e) => ({ path: e.path, reason: e.error })), ...listed.map((s) => ({ path: path.relative(data, s.path), reason: s.reason }))],
    });
    expect((html.match(/<figure class="face">/g) ?? []).length).toBe(CONVERTED.length + GOOD);
    expect(html).not.toContain(EVIL);
    expect((html.match(/&lt;img src=x onerror=alert\(1\)&gt;\.jpg/g) ?? []).length).toBe(2); // alt + caption
    for (const name of [...FAILED.map((f) => f.name), 'f\uFFFD.jpg', 'loop/self.jpg']) expect(html).toContain(`<tr><td>${name}</td>`);
  }, 60_000);
});

describe('bad configs', () => {
  function writeConfig(name: string, text: string): string {
    const file = path.join(root, name);
    fs.writeFileSync(file, text);
    return file;
  }
  const VALID = 'data:\n  folder: faces\n  imageSize: 16\nunet:\n  dim: 8\n  dimMults: [1, 2]\n  resnetBlockGroups: 2\n  imageSize: 16\n';

  it('accepts the valid base config', () => {
    expect(loadDiffusionConfig(writeConfig('ok.yaml', `${VALID}  fixAttentionNorm: false\n`)).unet.dim).toBe(8);
  });

  it('refuses an unknown field, naming the file and the dotted path and listing the valid keys', () => {
    const file = writeConfig('unknown.yaml', `${VALID}  colours: 3\n`);
    expect(() => loadDiffusionConfig(file)).toThrow(ConfigError);
    expect(() => loadDiffusionConfig(file)).toThrow(`${file}: unet.colours: unknown field; expected one of: dim, dimMults`);
  });

  it('refuses a wrong type, naming the file, the path, what was expected and what was found', () => {
    const file = writeConfig('type.yaml', VALID.replace('dim: 8', 'dim: "eight"'));
    expect(() => loadDiffusionConfig(file)).toThrow(`${file}: unet.dim: expected a positive integer, got "eight"`);
    const list = writeConfig('list.yaml', VALID.replace('[1, 2]', '[1, "2x"]'));
    expect(() => loadDiffusionConfig(list)).toThrow(`${list}: unet.dimMults[1]: expected a positive integer, got "2x"`);
  });
});
