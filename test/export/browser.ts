/**
 * Runs an exported tfjs graph model in a real browser: headless Chromium (puppeteer-core) loads tfjs-core,
 * tfjs-backend-cpu and tfjs-converter from node_modules and calls `tf.loadGraphModel(url)` on the model folder,
 * served over HTTP by a throw-away local server, exactly as a web page would. `findChromium` and `launchChromium`
 * also drive the browser scorer's test (test/serve).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';

const TFJS = fileURLToPath(new URL('../../node_modules/@tensorflow/', import.meta.url));
const SCRIPTS: Record<string, string> = {
  '/tf-core.js': path.join(TFJS, 'tfjs-core/dist/tf-core.min.js'),
  '/tf-backend-cpu.js': path.join(TFJS, 'tfjs-backend-cpu/dist/tf-backend-cpu.min.js'),
  '/tf-converter.js': path.join(TFJS, 'tfjs-converter/dist/tf-converter.min.js'),
};

/** A Chromium to drive (`DIFFIQA_CHROMIUM`, else the usual install paths), or why there is none. */
export function findChromium(): { path: string } | { reason: string } {
  const candidates = process.env.DIFFIQA_CHROMIUM ? [process.env.DIFFIQA_CHROMIUM] : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
  const hit = candidates.find((p) => fs.existsSync(p));
  return hit ? { path: hit } : { reason: `no Chromium at ${candidates.join(', ')} (set DIFFIQA_CHROMIUM)` };
}

/**
 * Launches headless Chromium at `executablePath` with `args` added. --no-sandbox: CI containers run as root, where
 * Chromium's sandbox refuses to start.
 */
export function launchChromium(executablePath: string, args: readonly string[] = []): Promise<Browser> {
  return puppeteer.launch({ executablePath, args: ['--no-sandbox', ...args] });
}

/** What the page reports. */
export interface BrowserRun {
  scores: number[];
  backend: string;
  metadata: unknown;
}

/**
 * Loads `<modelDir>/model.json` with tf.loadGraphModel in headless Chromium on the tfjs `cpu` backend and scores
 * `images` (each [112,112,3] RGB in [0,1], NHWC).
 */
export async function scoreInBrowser(chromium: string, modelDir: string, images: readonly Float32Array[]): Promise<BrowserRun> {
  const batch = new Float32Array(images.reduce((n, x) => n + x.length, 0));
  images.forEach((img, i) => batch.set(img, i * img.length));
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/') {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><html><body>${Object.keys(SCRIPTS).map((s) => `<script src="${s}"></script>`).join('')}</body></html>`);
      return;
    }
    if (url === '/faces.bin') {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength));
      return;
    }
    const file = SCRIPTS[url] ?? (url.startsWith('/model/') ? path.join(modelDir, path.basename(url)) : undefined);
    if (!file || !fs.existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', file.endsWith('.js') ? 'text/javascript' : file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const browser = await launchChromium(chromium);
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    return await page.evaluate(
      async (n: number) => {
        // The page's global tf, from the three script tags (no types in this context).
        const tf = (globalThis as unknown as { tf: any }).tf; // eslint-disable-line @typescript-eslint/no-explicit-any
        await tf.setBackend('cpu');
        const model = await tf.loadGraphModel('/model/model.json');
        const data = new Float32Array(await (await fetch('/faces.bin')).arrayBuffer());
        const x = tf.tensor4d(data, [n, 112, 112, 3]);
        const y = model.execute({ image: x }, 'quality');
        const scores = Array.from(await y.data()) as number[];
        tf.dispose([x, y]);
        return { scores, backend: tf.getBackend() as string, metadata: model.metadata as unknown };
      },
      images.length,
    );
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}
