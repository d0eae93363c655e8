/**
 * UNet speed: forward and training-step time at batch 8 for the cpu-small config and a 112 px dim-64 UNet, on
 * the active backend (initBackend: DIFFIQA_BACKEND or the best available), and for the same architecture in
 * PyTorch (/usr/bin/python3, via the fixture generator's re-implementation) when it is installed.
 *
 *   node --import tsx bench/unet.ts [--reps 2] [--batch 8] [--only cpu-small|dim64] [--no-cpu] [--cpu-size N] [--cpu-batch 1] [--cpu-forward-only]
 *   node --import tsx bench/unet.ts --memory   # peak RSS of one training step: cpu-small at batch 16, paper at batch 1
 *
 * tfjs `cpu` cannot run the full shape in reasonable time (a cpu-small batch-1 forward and step at 112 px did not
 * finish in 14 minutes; its conv filter gradient runs at ~0.006 GFLOP/s), so unless --no-cpu is given both backends
 * also run one reduced case, batch 1 at --cpu-size px (default 32 for cpu-small, 16 for dim64), in the same process:
 * the active backend as the median of --reps runs, tfjs cpu once, timed by the process's CPU time (tfjs cpu runs on
 * one thread, so on an idle machine that equals its wall time, and a busy machine cannot inflate it). Only that
 * ratio is printed (--cpu-batch and --cpu-size 112 give the full shape; --cpu-forward-only skips the step, which
 * at full size takes tfjs cpu about an hour for cpu-small): at a reduced size the weight-sized work (weight
 * standardisation, filter gradients, Adam) is a larger share of a step than at 112 px, so the ratio does not scale
 * to the full shape by pixel count.
 *
 * --memory runs each case in a fresh child process (so one case's heap does not inflate the next) and reports the
 * child's peak resident set (getrusage maxrss) after two training steps, with the step time.
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeBackend, initBackend, tf } from '../src/backend/index.js';
import { loadDiffusionConfig, unetConfigOf } from '../src/diffusion/config.js';
import { diffusionLoss } from '../src/diffusion/gaussian.js';
import { PAPER_UNET, type UnetConfig, countUnetParams, createUnet } from '../src/diffusion/unet.js';
import { Adam } from '../src/train/adam.js';
import { Rng } from '../src/util/rng.js';
import { arg } from './args.js';

const ROOT = path.join(import.meta.dirname, '..');

/** Seconds of wall-clock time, or of this process's CPU time when `cpuClock` (see benchVsCpu). */
function clock(cpuClock: boolean): number {
  if (!cpuClock) return performance.now() / 1000;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface TimingOptions {
  /** One untimed run first (default true). */
  warmup?: boolean;
  /** Time by this process's CPU time instead of the wall clock (default false; see benchVsCpu). */
  cpuClock?: boolean;
}

/** Median of `reps` timed runs after one warm-up (unless `warmup` is false), in seconds. */
function time(reps: number, fn: () => void, { warmup = true, cpuClock = false }: TimingOptions = {}): number {
  if (warmup) fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = clock(cpuClock);
    fn();
    ts.push(clock(cpuClock) - t0);
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)] as number;
}

/** Forward and training-step times; `withStep: false` skips the step (then NaN). */
function benchTfjs(config: UnetConfig, batch: number, reps: number, opts: TimingOptions & { withStep?: boolean } = {}): { fwd: number; step: number } {
  const unet = createUnet(config, new Rng(0));
  const s = config.imageSize;
  const hq = tf.randomUniform([batch, s, s, 3], -1, 1) as tf.Tensor4D;
  const lq = tf.randomUniform([batch, s, s, 3], -1, 1) as tf.Tensor4D;
  const t = tf.tensor1d(Array.from({ length: batch }, (_, i) => i * 7), 'int32');
  // The optimiser the diffusion trainer uses (src/train/adam.ts: one fused update per tensor on native), as
  // PyTorch's step uses torch.optim.Adam.
  const opt = new Adam([{ lr: 8e-5, params: unet.params.trainableNamed() }], { beta1: 0.9, beta2: 0.99 });
  const rng = new Rng(1);
  const fwd = time(reps, () => tf.tidy(() => void unet.apply(hq, t).dataSync()), opts);
  const step = opts.withStep === false ? Number.NaN : time(reps, () => {
    const { value, grads } = tf.variableGrads(() => diffusionLoss(unet, hq, lq, rng), opt.variables());
    opt.step(grads);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  }, opts);
  opt.dispose();
  tf.dispose([hq, lq, t]);
  unet.dispose();
  return { fwd, step };
}

const TORCH_SCRIPT = `
import json, os, sys, time, torch
torch.set_num_threads(os.cpu_count())  # torch defaults to 1 thread on this VM; compare like with like
sys.path.insert(0, sys.argv[1])
import gen_unet as g
c, batch, reps = json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
g.DIM, g.MULTS, g.GROUPS = c['dim'], tuple(c['dimMults']), c['resnetBlockGroups']
g.LIN_HEADS, g.LIN_DHEAD, g.FULL_HEADS, g.FULL_DHEAD = c['linearAttnHeads'], c['linearAttnDimHead'], c['fullAttnHeads'], c['fullAttnDimHead']
net = g.Unet()
s = c['imageSize']
x, y = torch.rand(batch, 3, s, s) * 2 - 1, torch.rand(batch, 3, s, s) * 2 - 1
t = torch.arange(batch) * 7
opt = torch.optim.Adam(net.parameters(), lr=8e-5, betas=(0.9, 0.99))
def fwd():
    with torch.no_grad(): net(x, t)
def step():
    opt.zero_grad(); loss = ((net(x, t) - y) ** 2).mean(); loss.backward(); opt.step()
def med(f):
    f(); ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]
print(json.dumps({'fwd': med(fwd), 'step': med(step), 'threads': torch.get_num_threads()}))
`;

function benchTorch(config: UnetConfig, batch: number, reps: number): { fwd: number; step: number; threads: number } | null {
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      ['-c', TORCH_SCRIPT, path.join(ROOT, 'test/fixtures/diffusion'), JSON.stringify(config), String(batch), String(reps)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return JSON.parse(out.trim().split('\n').pop() as string) as { fwd: number; step: number; threads: number };
  } catch (err) {
    console.log(`  pytorch: unavailable (${(err as Error).message.split('\n')[0]})`);
    return null;
  }
}

/** The active backend against tfjs cpu on one reduced case (`batch`, `size` px), cpu timed once without warm-up. */
async function benchVsCpu(config: UnetConfig, size: number, batch: number, reps: number, withStep: boolean): Promise<void> {
  const small = { ...config, imageSize: size };
  const active = tf.getBackend();
  const ours = benchTfjs(small, batch, reps, { withStep });
  await initBackend('cpu');
  const t0 = performance.now();
  const cpu = benchTfjs(small, batch, 1, { warmup: false, cpuClock: true, withStep });
  await initBackend(active);
  console.log(`  vs tfjs cpu at batch ${batch}, ${size} px (cpu ran once, CPU time; ${((performance.now() - t0) / 1000).toFixed(0)} s wall in all):`);
  console.log(`    forward: ${active} ${ours.fwd.toFixed(4)} s, cpu ${cpu.fwd.toFixed(2)} s, ${active} is ${(cpu.fwd / ours.fwd).toFixed(0)}x faster`);
  if (withStep) console.log(`    train step: ${active} ${ours.step.toFixed(4)} s, cpu ${cpu.step.toFixed(2)} s, ${active} is ${(cpu.step / ours.step).toFixed(0)}x faster`);
}

const MEMORY_CASES: [string, string, number][] = [
  ['cpu-small', 'configs/diffusion/cpu-small.yaml', 16],
  ['paper', 'configs/diffusion/paper.yaml', 1],
];

/** In a child process: two training steps of one case, then its peak RSS and the second step's time as JSON. */
async function memoryChild(name: string): Promise<void> {
  await initBackend();
  const [, file, batch] = MEMORY_CASES.find((c) => c[0] === name) as [string, string, number];
  const config = unetConfigOf(loadDiffusionConfig(path.join(ROOT, file)));
  const { step } = benchTfjs(config, batch, 1);
  console.log(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024, step, params: countUnetParams(config) }));
}

function memoryCases(): void {
  console.log(`peak resident memory of a training step (machine: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB)`);
  for (const [name, , batch] of MEMORY_CASES) {
    const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1] as string, '--memory-child', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(out.trim().split('\n').pop() as string) as { maxRssMiB: number; step: number; params: number };
    console.log(`  ${name} (${(r.params / 1e6).toFixed(2)} M params), batch ${batch}: peak RSS ${(r.maxRssMiB / 1024).toFixed(2)} GiB, step ${r.step.toFixed(2)} s`);
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--memory-child')) return memoryChild(arg('memory-child', ''));
  if (process.argv.includes('--memory')) return memoryCases();
  await initBackend();
  console.log(describeBackend());
  const batch = Number(arg('batch', '8'));
  const reps = Number(arg('reps', '2'));
  const only = arg('only', '');
  // Image size of the tfjs cpu comparison: the smallest the net's levels allow keeps dim64's cpu step to minutes.
  const configs: [string, UnetConfig, number][] = [
    ['cpu-small', unetConfigOf(loadDiffusionConfig(path.join(ROOT, 'configs/diffusion/cpu-small.yaml'))), 32],
    ['dim64', { ...PAPER_UNET, dim: 64 }, 16],
  ];
  for (const [name, config, cpuSize] of configs) {
    if (only && only !== name) continue;
    const p = (countUnetParams(config) / 1e6).toFixed(2);
    console.log(`${name}: ${p} M params, ${config.imageSize} px, batch ${batch}`);
    const ours = benchTfjs(config, batch, reps);
    console.log(`  tfjs/${tf.getBackend()}: forward ${ours.fwd.toFixed(3)} s, train step ${ours.step.toFixed(3)} s`);
    const ref = benchTorch(config, batch, reps);
    if (ref) {
      console.log(`  pytorch (${ref.threads} threads): forward ${ref.fwd.toFixed(3)} s, train step ${ref.step.toFixed(3)} s`);
      console.log(`  ratio ours/pytorch: forward ${(ours.fwd / ref.fwd).toFixed(2)}x, train step ${(ours.step / ref.step).toFixed(2)}x`);
    }
    if (!process.argv.includes('--no-cpu') && tf.getBackend() !== 'cpu') await benchVsCpu(config, Number(arg('cpu-size', String(cpuSize))), Number(arg('cpu-batch', '1')), reps, !process.argv.includes('--cpu-forward-only'));
  }
}

await main();
