/**
 * Listing a data folder of very many tiny files (issue 16, bounded resources): `listImageFiles` must hold paths
 * only, never file contents, so its memory grows with the number of paths and not with the data. Creates N
 * files named like a dataset's images (`000123.png`) under a fresh folder in the temp folder, then lists it in a
 * child process and reports the listing time, the child's peak RSS and the RSS it gained per file.
 *
 *   node --import tsx bench/many-files.ts [--files 1000000] [--per-folder 0 (0: all in one folder)] [--bytes 0]
 *                                         [--dir DIR (reuse a folder made by an earlier run with --keep)] [--keep]
 *
 * `--bytes` gives every file that many bytes (default 0: empty files, so N is limited by inodes, not disk);
 * with contents the peak RSS shows whether they were read. One flat folder is the hard case: a single readdir
 * returns every name at once.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listImageFiles } from '../src/data/files.js';
import { arg } from './args.js';

/** What the listing child reports (memory in MiB). */
interface ListingReport {
  files: number;
  seconds: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
}

const MiB = 1024 * 1024;

function fileName(i: number): string {
  return `${String(i).padStart(7, '0')}.png`;
}

/** The folder that holds file i: one flat folder, or `perFolder` files per subfolder. */
function folderOf(root: string, i: number, perFolder: number): string {
  return perFolder > 0 ? path.join(root, String(Math.floor(i / perFolder)).padStart(5, '0')) : root;
}

function createFiles(root: string, n: number, perFolder: number, bytes: number): number {
  const t0 = Date.now();
  const content = Buffer.alloc(bytes, 0x5a);
  let lastFolder = '';
  for (let i = 0; i < n; i++) {
    const dir = folderOf(root, i, perFolder);
    if (dir !== lastFolder) {
      fs.mkdirSync(dir, { recursive: true });
      lastFolder = dir;
    }
    const fd = fs.openSync(path.join(dir, fileName(i)), 'w');
    if (bytes > 0) fs.writeSync(fd, content);
    fs.closeSync(fd);
    if ((i + 1) % 100_000 === 0) process.stderr.write(`many-files: created ${i + 1} of ${n}\n`);
  }
  return (Date.now() - t0) / 1000;
}

/** Child process: lists `dir` once and prints a ListingReport as JSON. */
function listingChild(dir: string): void {
  const rssBefore = process.memoryUsage.rss();
  const t0 = process.hrtime.bigint();
  const files = listImageFiles(dir);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const report: ListingReport = {
    files: files.length,
    seconds,
    rssBeforeMiB: rssBefore / MiB,
    rssAfterMiB: process.memoryUsage.rss() / MiB,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    heapUsedMiB: process.memoryUsage().heapUsed / MiB,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function main(): void {
  const n = Number(arg('files', '1000000'));
  const perFolder = Number(arg('per-folder', '0'));
  const bytes = Number(arg('bytes', '0'));
  const given = arg('dir', '');
  const keep = process.argv.includes('--keep');
  const root = given || fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-many-files-'));
  try {
    if (!given) {
      const s = createFiles(root, n, perFolder, bytes);
      console.log(`created ${n} files of ${bytes} bytes (${perFolder > 0 ? `${perFolder} per folder` : 'one folder'}) in ${root} in ${s.toFixed(1)} s`);
    }
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, '--list-child', root], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`listing child failed with status ${child.status}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop() as string) as ListingReport;
    if (!given && r.files !== n) throw new Error(`listed ${r.files} files, created ${n}`);
    const grown = r.peakRssMiB - r.rssBeforeMiB;
    console.log(`listImageFiles: ${r.files} files in ${r.seconds.toFixed(2)} s (${((r.seconds / r.files) * 1e6).toFixed(2)} µs per file)`);
    console.log(
      `memory (child process): RSS ${r.rssBeforeMiB.toFixed(0)} MiB before, ${r.rssAfterMiB.toFixed(0)} MiB after (result held), ` +
        `peak ${r.peakRssMiB.toFixed(0)} MiB; peak growth ${grown.toFixed(0)} MiB = ${((grown * MiB) / r.files).toFixed(0)} bytes per file; ` +
        `heap used after ${r.heapUsedMiB.toFixed(0)} MiB; file contents ${((r.files * bytes) / MiB).toFixed(0)} MiB`,
    );
  } finally {
    if (!given && !keep) fs.rmSync(root, { recursive: true, force: true });
    else if (keep) console.log(`kept ${root} (rerun with --dir ${root})`);
  }
}

const childAt = process.argv.indexOf('--list-child');
if (childAt >= 0) listingChild(process.argv[childAt + 1] as string);
else main();
