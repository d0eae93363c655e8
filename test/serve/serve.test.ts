/**
 * `diffiqa serve` (src/serve): the browser scorer scores faces as Node does.
 *
 * Node's side: the six sample photos of @vladmandic/face-api (the set test/export uses), every face detected,
 * aligned and scored as `diffiqa score --align` does (decodeImage at 1024 px, the SSD detector, 68 landmarks -> 5
 * points -> similarity -> warp, the shipped eDifFIQA through loadRegressor), and `diffiqa score --align` itself for the
 * largest face of each photo. The browser's side: the served page in headless Chromium (Debian's; skipped with the
 * reason printed where there is none, as test/export does) with its own backend choice (WebGL where it renders
 * float32, else cpu; DIFFIQA_SERVE_TEST_BACKEND=cpu|webgl forces one through the page's ?backend=), the photos given
 * to its file input. Faces are matched by photo and box; the tolerance, 1e-3,
 * is the (measured: below 1e-5). The first photo is renamed `<img src=x onerror=...>.jpg` to check escaping.
 * A screenshot goes to test-output/serve/browser-scorer.png. The page's photo decoding is also checked on its own:
 * in Chromium it must give the very pixels decodeImage gives Node (upright and EXIF-rotated JPEGs, a PNG).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { scoreCommand } from '../../src/cli/score.js';
import { serveCommand } from '../../src/cli/serve.js';
import { toUint8 } from '../../src/data/image.js';
import { decodeImage } from '../../src/data/image-io.js';
import { samplePhotos } from '../../src/experiment/demo.js';
import { alignFace, loadAligner } from '../../src/fr/align.js';
import type { FaceBox } from '../../src/fr/detect.js';
import { readResults } from '../../src/pipelines/records.js';
import { loadRegressor } from '../../src/pipelines/score.js';
import { collectBrowserModules } from '../../src/serve/modules.js';
import { serveSite, type RunningServer } from '../../src/serve/server.js';
import { assembleSite, SITE_JSON, type Site } from '../../src/serve/site.js';
import { CheckpointError, DiffiqaError } from '../../src/util/errors.js';
import { inProcessCli } from '../cli/in-process.js';
import { findChromium, launchChromium } from '../export/browser.js';

const TOL = 1e-3;
const XSS = '<img src=x onerror=window.__xss=1>';
const SHOT = fileURLToPath(new URL('../../test-output/serve/browser-scorer.png', import.meta.url));
// Software WebGL (SwiftShader) is opt-in in recent Chromium; the page is trusted local content.
const CHROMIUM_ARGS = ['--enable-unsafe-swiftshader'];
const FORCED_BACKEND = process.env.DIFFIQA_SERVE_TEST_BACKEND;

const chromium = findChromium();
if ('reason' in chromium) console.log(`SKIP the browser checks: ${chromium.reason}`);
const hasChromium = !('reason' in chromium);

interface NodeFace {
  box: FaceBox;
  score: number;
  /** The aligned crop as 8-bit RGB, as the page draws it. */
  pixels: Uint8Array;
}

let root = '';
let cacheDir = '';
/** The sample photos under the names the page sees (the first one's name is an HTML injection attempt). */
let photos: string[] = [];
let site: Site;
let server: RunningServer;
/** Node's faces of each photo, in detection order. */
let nodeFaces: NodeFace[][] = [];
/** `diffiqa score --align`: the largest face of each photo. */
let cliScores: number[] = [];

const cli = inProcessCli(scoreCommand, serveCommand);

function toBytes(data: Float32Array): Uint8Array {
  return Uint8Array.from(data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
}

/** Every face of every photo, as `diffiqa score --align` finds, aligns and scores the largest one. */
async function scoreInNode(files: readonly string[]): Promise<NodeFace[][]> {
  const aligner = loadAligner();
  const scorer = loadRegressor();
  try {
    const out: NodeFace[][] = [];
    for (const file of files) {
      const img = await decodeImage(file, { size: 'native', maxSide: 1024 });
      const crops = aligner.detector.detect(img).map((box) => ({ box, crop: alignFace(img, box, aligner.landmarks).crop }));
      const scores = scorer.score(crops.map((c) => c.crop.data));
      out.push(crops.map((c, i) => ({ box: c.box, score: scores[i] as number, pixels: toBytes(c.crop.data) })));
    }
    return out;
  } finally {
    aligner.dispose();
    scorer.dispose();
  }
}

function iou(a: FaceBox, b: FaceBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const inter = Math.max(0, w) * Math.max(0, h);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Opens `url` in a fresh page, recording every request, and waits for the scorer to be ready. */
async function openPage(browser: Browser, url: string, requests: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('request', (r) => void requests.push(r.url()));
  const errors: string[] = [];
  page.on('pageerror', (e) => void errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'idle' || document.body.dataset.state === 'error', { timeout: 60_000 });
  const status = await page.$eval('#status', (e) => e.textContent);
  expect(await page.evaluate(() => document.body.dataset.state), `page status: ${status}; page errors: ${errors.join(' | ')}`).toBe('idle');
  return page;
}

/** Requests that did not go to `origin` (data: and blob: URLs are made by the page itself). */
function foreign(requests: readonly string[], origin: string): string[] {
  return requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-'));
  cacheDir = path.join(root, 'cache');
  const dir = path.join(root, 'photos');
  fs.mkdirSync(dir);
  photos = samplePhotos().map((p, i) => {
    const file = path.join(dir, i === 0 ? `${XSS}.jpg` : path.basename(p));
    fs.copyFileSync(p, file);
    return file;
  });
  await initBackend(); // native where built: Node's reference runs fast
  site = await assembleSite({ cacheDir });
  server = await serveSite(site, { port: 0 });
  if (!hasChromium) return;
  nodeFaces = await scoreInNode(photos);
  const csv = path.join(root, 'scores.csv');
  await cli(['score', ...photos, '--align', '--out', csv]).parseAsync();
  const byPath = new Map(readResults(csv).map((r) => [r.path, r.values.quality as number]));
  cliScores = photos.map((p) => byPath.get(p) as number);
}, 180_000);

afterAll(async () => {
  await server?.close();
});

describe('diffiqa serve: the server', () => {
  it('binds 127.0.0.1 by default and answers only for the files of the site', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await fetch(server.url);
    expect(index.status).toBe(200);
    expect(await index.text()).toBe(site.files.get('index.html')?.data);
    for (const p of ['lib/fr/warp.js', 'lib/data/linear-reduce.js', 'vendor/tfjs.esm.js', 'model/model.json', SITE_JSON]) expect((await fetch(server.url + p)).status, p).toBe(200);
    // Node-only modules are not part of the page, and nothing outside the site is reachable.
    for (const p of ['lib/fr/align.js', 'lib/backend/tf.js', '..%2Fpackage.json', '%2e%2e/%2e%2e/package.json', 'src/serve/site.ts']) expect((await fetch(server.url + p)).status, p).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });

  it('exports the model once per weight file into the cache, and takes it from there afterwards', async () => {
    expect(site.model.model).toBe('ediffiqa/mobileface');
    const again = await assembleSite({ cacheDir });
    expect(again.model.fromCache).toBe(true);
    expect(again.model.dir).toBe(site.model.dir);
    const same = (a: Site, b: Site, name: string): boolean => Buffer.from(a.files.get(name)?.data ?? '').equals(Buffer.from(b.files.get(name)?.data ?? 'missing'));
    expect(same(again, site, 'model/model.json')).toBe(true);
    // A damaged cache entry (a truncated shard) is exported again rather than served.
    const shard = fs.readdirSync(site.model.dir).find((f) => f.endsWith('.bin')) as string;
    fs.truncateSync(path.join(site.model.dir, shard), 100);
    const repaired = await assembleSite({ cacheDir });
    expect(repaired.model.fromCache).toBe(false);
    expect(same(repaired, site, `model/${shard}`)).toBe(true);
  });

  it('refuses to serve a page module that imports Node built-ins, naming the chain of modules', async () => {
    await expect(collectBrowserModules(['fr/align.js'])).rejects.toThrow(/cannot serve fr\/align\.js to the browser: it imports 'node:fs'/);
    await expect(collectBrowserModules(['serve/page/main.js'])).rejects.toThrow(/serve\/page\/main\.js -> serve\/page\/scorer\.js to the browser: it imports '@tensorflow\/tfjs-converter'/);
  });

  it('names a missing model, and will not overwrite a folder that is not a build of the page', async () => {
    const missing = path.join(root, 'no-such-model.safetensors');
    await expect(assembleSite({ model: missing, cacheDir })).rejects.toThrow(CheckpointError);
    await expect(cli(['serve', '--model', missing, '--build', path.join(root, 'never')]).parseAsync()).rejects.toThrow(`${missing}: no such file or folder`);
    const mine = path.join(root, 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'notes.txt'), 'mine');
    await expect(cli(['serve', '--build', mine, '--cache', cacheDir]).parseAsync()).rejects.toThrow(DiffiqaError);
    expect(fs.readdirSync(mine)).toEqual(['notes.txt']);
  });
});

describe('diffiqa serve: the page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (hasChromium) browser = await launchChromium((chromium as { path: string }).path, CHROMIUM_ARGS);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.skipIf(!hasChromium)('scores every face of the sample photos within 1e-3 of Node, renders the crops, ranks them, escapes names, and fetches nothing from elsewhere', async () => {
    const requests: string[] = [];
    const t0 = Date.now();
    const page = await openPage(browser, FORCED_BACKEND ? `${server.url}?backend=${encodeURIComponent(FORCED_BACKEND)}` : server.url, requests);
    const backend = await page.evaluate(() => document.body.dataset.backend);
    if (FORCED_BACKEND) expect(backend).toBe(FORCED_BACKEND);
    const input = await page.$('input#files');
    await input?.uploadFile(...photos);
    await page.waitForFunction((n: number) => document.querySelectorAll('#photos li[data-status="done"], #photos li[data-status="error"], #photos li[data-status="no-face"]').length === n, { timeout: 240_000, polling: 500 }, photos.length);
    const seconds = (Date.now() - t0) / 1000;
    expect(await page.$$eval('#photos li', (els) => els.map((e) => (e as HTMLElement).dataset.status))).toEqual(photos.map(() => 'done'));

    const faces = await page.$$eval('li.face', (els) =>
      els.map((el) => {
        const e = el as HTMLElement;
        const canvas = e.querySelector('canvas') as HTMLCanvasElement;
        const rgba = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
        let rgb = '';
        for (let i = 0; i < rgba.length; i += 4) rgb += String.fromCharCode(rgba[i] as number, rgba[i + 1] as number, rgba[i + 2] as number);
        const d = e.dataset;
        return { photo: d.photo, face: d.face, box: d.box, score: d.score, rank: d.rank, rgb: btoa(rgb), size: [canvas.width, canvas.height], name: e.querySelector('.name')?.textContent ?? '' };
      }),
    );
    fs.mkdirSync(path.dirname(SHOT), { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true });
    console.log(`browser scorer screenshot: ${SHOT}`);

    // Same faces, photo by photo, matched by box.
    const total = nodeFaces.reduce((n, f) => n + f.length, 0);
    expect(faces).toHaveLength(total);
    let maxDiff = 0;
    let maxPixel = 0;
    for (const f of faces) {
      const node = nodeFaces[Number(f.photo)] as NodeFace[];
      const [x, y, width, height] = (f.box as string).split(',').map(Number) as [number, number, number, number];
      const box = { x, y, width, height, score: 1 };
      const match = node.reduce((best, n) => (iou(n.box, box) > iou(best.box, box) ? n : best));
      expect(iou(match.box, box), `photo ${f.photo} face ${f.face}: no Node face at its box`).toBeGreaterThan(0.99);
      const diff = Math.abs(Number(f.score) - match.score);
      maxDiff = Math.max(maxDiff, diff);
      expect(diff, `photo ${f.photo} face ${f.face}: page ${f.score} vs Node ${match.score}`).toBeLessThan(TOL);
      // The crop is drawn: not blank, and the pixels Node aligned (up to a level of rounding).
      expect(f.size).toEqual([112, 112]);
      const drawn = Buffer.from(f.rgb, 'base64');
      const spread = Math.max(...drawn) - Math.min(...drawn);
      expect(spread, `photo ${f.photo} face ${f.face}: blank crop`).toBeGreaterThan(100);
      for (let i = 0; i < drawn.length; i++) maxPixel = Math.max(maxPixel, Math.abs((drawn[i] as number) - (match.pixels[i] as number)));
    }
    expect(new Set(faces.map((f) => `${f.photo}/${f.face}`)).size).toBe(total);
    expect(maxPixel, 'crop pixels: page vs Node, 8-bit levels').toBeLessThanOrEqual(1);
    console.log(
      `browser scorer (tfjs ${backend}) vs Node, ${faces.length} faces of ${photos.length} photos: max |page - node| ${maxDiff.toExponential(2)}, ` +
        `crop pixels within ${maxPixel} level; page took ${seconds.toFixed(1)} s`,
    );

    // diffiqa score --align (largest face of each photo) agrees with both.
    photos.forEach((_, p) => {
      const node = nodeFaces[p] as NodeFace[];
      const largest = node.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
      expect(Math.abs(largest.score - (cliScores[p] as number)), `photo ${p}: diffiqa score --align`).toBeLessThan(1e-6);
    });

    // Ranks: 1..N in score order, the grid best first.
    const ranks = faces.map((f) => Number(f.rank));
    expect(ranks).toEqual(faces.map((_, i) => i + 1));
    const scores = faces.map((f) => Number(f.score));
    expect(scores).toEqual([...scores].sort((a, b) => b - a));

    // The injected file name is shown as text: no element made from it, no script run.
    const firstPhoto = faces.filter((f) => f.photo === '0');
    expect(firstPhoto.length).toBeGreaterThan(0);
    for (const f of firstPhoto) expect(f.name.startsWith(`${XSS}.jpg`), f.name).toBe(true);
    expect(await page.$$eval('img', (els) => els.length)).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.$eval('#photos li', (e) => e.innerHTML)).toContain('&lt;img src=x onerror=window.__xss=1&gt;.jpg');

    expect(foreign(requests, server.url), 'requests to anywhere but the local server').toEqual([]);
    await page.close();
  }, 300_000);

  it.skipIf(!hasChromium)('decodes photos in the browser to the very pixels decodeImage gives Node: JPEG, EXIF-rotated JPEG, PNG', async () => {
    const page = await openPage(browser, server.url, []);
    const sample = fs.readFileSync(photos[1] as string);
    const cases: [string, Buffer][] = [
      ['sample2.jpg', sample],
      ['rotated-6.jpg', await sharp(sample).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer()],
      ['rotated-3.jpg', await sharp(sample).withMetadata({ orientation: 3 }).jpeg({ quality: 90 }).toBuffer()],
      ['photo.png', await sharp(sample).resize(1500).png().toBuffer()],
    ];
    for (const [name, bytes] of cases) {
      const node = await decodeImage(bytes, { size: 'native', maxSide: 1024 }, name);
      const sha = createHash('sha256').update(toUint8(node)).digest('hex');
      // A string, not a function: vitest rewrites import() in functions, and the page's own module is wanted here.
      const inPage = await page.evaluate(`(async () => {
        const { decodePhoto } = await import('./lib/serve/page/photo.js');
        const bin = atob(${JSON.stringify(bytes.toString('base64'))});
        const photo = await decodePhoto(new Blob([Uint8Array.from(bin, (c) => c.charCodeAt(0))]), ${JSON.stringify(name)}, 1024);
        const rgb = Uint8Array.from(photo.image.data, (v) => Math.round(v * 255));
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', rgb));
        return { size: [photo.image.width, photo.image.height], sha: Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join(''), note: photo.note ?? null };
      })()`);
      expect(inPage, name).toEqual({ size: [node.width, node.height], sha, note: null });
    }
    await page.close();
  }, 60_000);

  it.skipIf(!hasChromium)('--build writes the same files as a static folder, which works from a plain static file server', async () => {
    const out = path.join(root, 'site');
    await cli(['serve', '--build', out, '--cache', cacheDir]).parseAsync();
    const written = (dir: string, prefix = ''): string[] =>
      fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? written(dir, path.posix.join(prefix, e.name)) : [path.posix.join(prefix, e.name)]));
    expect(written(out).sort()).toEqual([...site.files.keys()].sort());
    for (const [name, file] of site.files) expect(Buffer.from(fs.readFileSync(path.join(out, name))).equals(Buffer.from(file.data)), name).toBe(true);
    // Building again replaces the earlier build.
    await cli(['serve', '--build', out, '--cache', cacheDir]).parseAsync();
    expect(fs.readdirSync(root).filter((f) => f.startsWith('.'))).toEqual([]);

    // Any static server will do: here, files from the folder under a sub-path, nothing else.
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };
    const statics = http.createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? '/').split('?')[0] as string).replace(/^\/scorer\//, '') || 'index.html';
      const file = path.join(out, rel);
      if (!file.startsWith(out + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader('content-type', types[path.extname(file)] ?? 'application/octet-stream');
      res.end(fs.readFileSync(file));
    });
    await new Promise<void>((resolve) => statics.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(statics.address() as { port: number }).port}/`;
    try {
      const requests: string[] = [];
      const page = await openPage(browser, `${origin}scorer/`, requests);
      expect(await page.$eval('#about', (e) => e.textContent)).toContain('ediffiqa/mobileface');
      expect(foreign(requests, `${origin}scorer/`), 'requests outside the built folder').toEqual([]);
      await page.close();
    } finally {
      await new Promise((resolve) => statics.close(resolve));
    }
  }, 120_000);
});
