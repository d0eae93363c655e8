/**
 * A pool of worker threads that build training pairs (`PairLoader` for `PairDataset`). On the main thread the
 * degradation maths (~0.1-0.3 s per sample) would run between training steps; in workers it overlaps them.
 * Results are bit-identical to the in-process loader: same code, same seeded `Rng` state.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DataError, DiffiqaError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { PairLoader } from './dataset.js';
import type { PairReply, PairRequest } from './pair-worker.js';
import type { TrainingPair, TrainingPairOptions } from './training-pair.js';

interface PendingCall {
  resolve: (pair: TrainingPair) => void;
  reject: (err: Error) => void;
  worker: Worker;
}

/** Worker-thread `PairLoader`; call `dispose()` when done (workers keep the process alive). */
export class WorkerPairLoader {
  private readonly workers: Worker[] = [];
  private readonly busy = new Map<Worker, number>();
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 0;

  /** @param count number of worker threads; default 1 (the machine has few cores and sharp has its own pool) */
  constructor(count = 1) {
    for (let i = 0; i < Math.max(1, count); i++) this.workers.push(this.spawn());
  }

  /** The loader function to pass as `PairDatasetOptions.loadPair`. */
  readonly load: PairLoader = (path: string, rng: Rng, options: TrainingPairOptions) => {
    const worker = this.leastBusy();
    const id = this.nextId++;
    this.busy.set(worker, (this.busy.get(worker) ?? 0) + 1);
    worker.ref(); // keep the process alive while a result is owed
    return new Promise<TrainingPair>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      const req: PairRequest = { id, path, rngState: rng.state(), options };
      worker.postMessage(req);
    });
  };

  /** Terminates the workers; pending loads are rejected. */
  async dispose(): Promise<void> {
    for (const [id, call] of this.pending) {
      call.reject(new DiffiqaError('pair loader disposed', 'E_DISPOSED'));
      this.pending.delete(id);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }

  private spawn(): Worker {
    // Under tsx/vitest this module is TypeScript: the worker registers tsx's loader before importing it
    // (a worker does not inherit the parent's loader hooks). Built code (dist/) loads the .js directly.
    const isTs = import.meta.url.endsWith('.ts');
    const url = new URL(isTs ? './pair-worker.ts' : './pair-worker.js', import.meta.url);
    const worker = isTs
      ? new Worker(
          `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`,
          { eval: true },
        )
      : new Worker(url);
    worker.unref();
    worker.on('message', (reply: PairReply) => this.settle(worker, reply));
    worker.on('error', (err) => this.failAll(worker, err));
    worker.on('exit', (code) => {
      if (code !== 0) this.failAll(worker, new Error(`pair worker exited with code ${code}`));
    });
    return worker;
  }

  private settle(worker: Worker, reply: PairReply): void {
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    const left = (this.busy.get(worker) ?? 1) - 1;
    this.busy.set(worker, left);
    if (left === 0) worker.unref(); // an idle pool must not keep the process alive
    if (reply.ok) call.resolve({ hq: reply.hq, lq: reply.lq });
    else if (reply.dataError) call.reject(new DataError(reply.file, reply.message));
    else call.reject(new Error(`pair worker failed on ${reply.file}: ${reply.message}`));
  }

  private failAll(worker: Worker, err: Error): void {
    for (const [id, call] of this.pending) {
      if (call.worker !== worker) continue;
      this.pending.delete(id);
      call.reject(err);
    }
  }

  private leastBusy(): Worker {
    if (this.workers.length === 0) throw new DiffiqaError('pair loader used after dispose()', 'E_DISPOSED');
    return this.workers.reduce((a, b) => ((this.busy.get(b) ?? 0) < (this.busy.get(a) ?? 0) ? b : a));
  }
}

/** tsx's loader API, resolved from this package (an eval'd worker would resolve from the current directory). */
function tsxApiUrl(): string {
  // require.resolve picks the CommonJS build; its ESM twin sits beside it and is the one that registers cleanly.
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}
