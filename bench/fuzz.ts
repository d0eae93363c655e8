/**
 * Seeded mutation fuzzing of every reader of outside files (torch.save zip + pickle, safetensors, tfjs model.json
 * and weight manifests with their shards, result/quality/comparison CSV and JSONL, YAML configs). Each case must load
 * or raise a DiffiqaError naming a file of the case, within 2 s, without holding far more than the file's size.
 * Readers, seeds and mutations: test/robustness/fixtures/fuzz-readers.ts (the test suite runs a few hundred cases).
 *
 *   node --import tsx bench/fuzz.ts [--cases 10000] [--reader NAME[,NAME]] [--seed diffiqa-fuzz] [--first 0]
 *                                   [--keep DIR (copies each failing case there)]
 *
 * A failure prints its reader, seed and case index; rerun exactly that case with
 * `--reader R --seed S --first I --cases 1 --keep DIR` and read its files in DIR. Each reader runs in a worker
 * thread watched from here, so a case that never returns is reported (and skipped) instead of stalling the run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { FUZZ_READERS, HANG_MS, prepareTarget, runCase, type CaseResult } from '../test/robustness/fixtures/fuzz-readers.js';
import { arg } from './args.js';

/** What a worker runs: cases first..first+count-1 of one reader; it publishes the case in progress in `progress`. */
interface Job {
  reader: string;
  seed: string;
  first: number;
  count: number;
  root: string;
  /** Where to copy a failing case's files ('' for nowhere). */
  keep: string;
  progress: SharedArrayBuffer;
}

/** A case result as a worker reports it, with where its files were kept. */
type Reported = CaseResult & { kept?: string };

/** A case that has not returned after this long is killed with its worker and counted as a hang. */
const KILL_MS = 5 * HANG_MS;

function workerMain(job: Job): void {
  const target = prepareTarget(FUZZ_READERS.find((r) => r.name === job.reader)!, job.root);
  const progress = new Int32Array(job.progress);
  for (let i = job.first; i < job.first + job.count; i++) {
    Atomics.store(progress, 0, i);
    const r: Reported = runCase(target, job.seed, i);
    if (r.outcome === 'failure' && job.keep) {
      // Copied here, before the next case of the same seed overwrites the folder.
      r.kept = path.join(job.keep, `${r.reader}-${r.index}`);
      fs.cpSync(r.dir, r.kept, { recursive: true });
    }
    parentPort!.postMessage(r);
  }
}

/** A worker running this file. Workers do not inherit tsx's loader hooks: it registers them, then loads the file. */
function startWorker(job: Job): Worker {
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const boot = `import(${tsx}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  return new Worker(boot, { eval: true, workerData: job });
}

/** Runs one reader's cases in workers, restarting after a case that hangs; `onCase` sees every result in order. */
async function runReader(job: Omit<Job, 'progress'>, onCase: (r: Reported) => void): Promise<void> {
  let next = job.first;
  const end = job.first + job.count;
  while (next < end) {
    const progress = new SharedArrayBuffer(4);
    const worker = startWorker({ ...job, first: next, count: end - next, progress });
    const cells = new Int32Array(progress);
    let done = next;
    let since = performance.now();
    worker.on('message', (r: Reported) => {
      done = r.index + 1;
      since = performance.now();
      onCase(r);
    });
    const exit = new Promise<number>((resolve, reject) => {
      worker.on('exit', resolve);
      worker.on('error', reject);
    });
    const watchdog = setInterval(() => {
      if (performance.now() - since > KILL_MS) void worker.terminate();
    }, 250);
    await exit.finally(() => clearInterval(watchdog));
    if (done < end) {
      const index = Math.max(done, Atomics.load(cells, 0));
      onCase({ reader: job.reader, index, seed: job.seed, dir: '', outcome: 'failure', ms: KILL_MS, fileBytes: 0, detail: `hang: no return after ${KILL_MS} ms (worker killed)` });
      next = index + 1;
    } else next = end;
  }
}

async function main(): Promise<void> {
  const cases = Number(arg('cases', '10000'));
  const first = Number(arg('first', '0'));
  const seed = arg('seed', 'diffiqa-fuzz');
  const only = arg('reader', '');
  const keep = arg('keep', '');
  const names = only ? only.split(',') : FUZZ_READERS.map((r) => r.name);
  const unknown = names.filter((n) => !FUZZ_READERS.some((r) => r.name === n));
  if (unknown.length) {
    console.error(`unknown reader ${unknown.join(', ')}; expected one of: ${FUZZ_READERS.map((r) => r.name).join(', ')}`);
    process.exit(2);
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-fuzz-'));
  console.log(`seed '${seed}', cases ${first}..${first + cases - 1} per reader, scratch ${root}`);
  console.log('reader          cases   loaded  rejected  failures  slowest(ms)  time(s)');
  let failed = 0;
  for (const name of names) {
    const t0 = performance.now();
    const sum = { cases: 0, loaded: 0, rejected: 0, failures: 0, slowest: 0 };
    await runReader({ reader: name, seed, first, count: cases, root, keep }, (r) => {
      sum.cases++;
      sum.slowest = Math.max(sum.slowest, r.ms);
      if (r.outcome !== 'failure') {
        sum[r.outcome]++;
        return;
      }
      sum.failures++;
      console.log(`  FAILURE ${r.reader} seed '${r.seed}' case ${r.index} (${r.fileBytes} bytes): ${r.detail.slice(0, 400)}`);
      if (r.kept) console.log(`    files: ${r.kept}`);
    });
    failed += sum.failures;
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const cols = [sum.cases, sum.loaded, sum.rejected, sum.failures].map((v, i) => String(v).padStart([6, 8, 9, 9][i]!));
    console.log(`${name.padEnd(14)} ${cols.join(' ')} ${sum.slowest.toFixed(0).padStart(12)} ${secs.padStart(8)}`);
  }
  fs.rmSync(root, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

if (isMainThread) await main();
else workerMain(workerData as Job);
