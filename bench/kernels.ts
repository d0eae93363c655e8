/**
 * Kernel throughput of the `native` backend against tfjs `cpu` and (where it imports) PyTorch, in GFLOP/s.
 *
 *   npm run bench:kernels [-- --runs 7] [-- --no-cpu] [-- --no-torch]
 *
 * Native: median of --runs timed runs after one warm-up. tfjs cpu is ~1000x slower, so it is timed once on a
 * reduced shape (printed) and its rate is scaled by FLOPs. PyTorch runs the same shapes (NCHW, its native layout)
 * in one child process with torch.set_num_threads(<cores>) right after the native timings. Other processes share
 * the cores, so compare ratios from one run, not absolute numbers across runs; 'GF/cpu-s' (FLOPs per second of
 * this process's CPU time) shows the kernels' own efficiency when wall time is inflated by contention.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { describeBackend, initBackend, tf } from '../src/backend/index.js';
import { median } from './args.js';

interface ConvShape { n: number; h: number; w: number; cin: number; cout: number; k: number }
interface Case {
  key: string;
  label: string;
  flops: number;
  /** Builds inputs on the active backend and returns the timed call (which must block until done). */
  prepare: (reduced: boolean) => { run: () => void; flops: number; shape: string; dispose: () => void };
}

const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1]) || 7;
const withCpu = !argv.includes('--no-cpu');
const withTorch = !argv.includes('--no-torch');

const convFlops = (s: ConvShape) => 2 * s.n * s.h * s.w * s.k * s.k * s.cin * s.cout;
const A: ConvShape = { n: 8, h: 64, w: 64, cin: 64, cout: 64, k: 3 };
const B: ConvShape = { n: 16, h: 28, w: 28, cin: 256, cout: 256, k: 3 };
const DW = { n: 16, h: 56, w: 56, c: 128, k: 3 };

function convCase(key: string, label: string, full: ConvShape, reduced: ConvShape, mode: 'fwd' | 'dx' | 'dw'): Case {
  return {
    key,
    label,
    flops: convFlops(full),
    prepare: (small) => {
      const s = small ? reduced : full;
      const x = tf.randomNormal([s.n, s.h, s.w, s.cin]) as tf.Tensor4D;
      const w = tf.randomNormal([s.k, s.k, s.cin, s.cout]) as tf.Tensor4D;
      const dy = tf.randomNormal([s.n, s.h, s.w, s.cout]) as tf.Tensor4D;
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
      const run = () => {
        let out: tf.Tensor;
        if (mode === 'fwd') out = tf.conv2d(x, w, 1, 'same');
        else if (mode === 'dx') out = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape } as never);
        else out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape } as never);
        out.dispose(); // not read: see timeMs
      };
      return { run, flops: convFlops(s), shape: `${s.n}x${s.h}x${s.w}x${s.cin}->${s.cout}`, dispose: () => tf.dispose([x, w, dy]) };
    },
  };
}

const CASES: Case[] = [
  convCase('a', '(a) conv 3x3 8x64x64x64->64 same', A, { ...A, n: 1 }, 'fwd'),
  convCase('b', '(b) conv 3x3 16x28x28x256->256 same', B, { ...B, n: 1 }, 'fwd'),
  convCase('c_dx', '(c) input grad of (a)', A, { ...A, n: 1 }, 'dx'),
  convCase('c_dw', '(c) filter grad of (a)', A, { ...A, n: 1, h: 16, w: 16 }, 'dw'),
  {
    key: 'd',
    label: '(d) matmul 1024x1024x1024',
    flops: 2 * 1024 ** 3,
    prepare: (small) => {
      const m = small ? 256 : 1024;
      const a = tf.randomNormal([m, 1024]) as tf.Tensor2D;
      const b = tf.randomNormal([1024, 1024]) as tf.Tensor2D;
      const run = () => {
        const out = tf.matMul(a, b);
        out.dispose(); // not read: see timeMs
      };
      return { run, flops: 2 * m * 1024 * 1024, shape: `${m}x1024x1024`, dispose: () => tf.dispose([a, b]) };
    },
  },
  {
    key: 'e',
    label: '(e) depthwise 3x3 16x56x56x128 same',
    flops: 2 * DW.n * DW.h * DW.w * DW.c * DW.k * DW.k,
    prepare: (small) => {
      const n = small ? 1 : DW.n;
      const x = tf.randomNormal([n, DW.h, DW.w, DW.c]) as tf.Tensor4D;
      const w = tf.randomNormal([DW.k, DW.k, DW.c, 1]) as tf.Tensor4D;
      const run = () => {
        const out = tf.depthwiseConv2d(x, w, 1, 'same');
        out.dispose(); // not read: see timeMs
      };
      return { run, flops: 2 * n * DW.h * DW.w * DW.c * 9, shape: `${n}x${DW.h}x${DW.w}x${DW.c}`, dispose: () => tf.dispose([x, w]) };
    },
  },
  {
    // The IResNet fully connected layer scoring one image: a few rows stream B once instead of packing it.
    key: 'f',
    label: '(f) matmul 1x25088x512 (FC, batch 1)',
    flops: 2 * 25088 * 512,
    prepare: () => {
      const a = tf.randomNormal([1, 25088]) as tf.Tensor2D;
      const b = tf.randomNormal([25088, 512]) as tf.Tensor2D;
      const run = () => {
        const out = tf.matMul(a, b);
        out.dispose(); // not read: see timeMs
      };
      return { run, flops: 2 * 25088 * 512, shape: '1x25088x512', dispose: () => tf.dispose([a, b]) };
    },
  },
];

/**
 * Wall time of one call, in ms. Each run disposes its output without reading it: native and tfjs cpu kernels are
 * synchronous (the result is complete when the op returns), and like every intermediate of a training step an
 * unread output goes back to the native backend's free list and is reused by the next run. Reading it
 * (dataSync) would hand the array to JS for good and make every run page-fault a fresh output, a cost that
 * PyTorch's caching allocator does not pay either.
 */
function timeMs(run: () => void): number {
  const t0 = performance.now();
  run();
  return performance.now() - t0;
}

/** CPU time (user + system, all threads of this process) of one call, in ms. */
function cpuMs(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/**
 * Median native GFLOP/s over `runs` runs after one warm-up, plus GFLOP per CPU-second (flops / process CPU time):
 * on cores shared with other jobs, wall time mostly measures the contention, CPU time the kernel.
 */
function benchNative(c: Case): { ms: number; gflops: number; perCpuSecond: number } {
  const p = c.prepare(false);
  p.run();
  const times = Array.from({ length: runs }, () => timeMs(p.run));
  const cpuTimes = Array.from({ length: Math.min(runs, 3) }, () => cpuMs(p.run));
  p.dispose();
  const ms = median(times);
  return { ms, gflops: p.flops / ms / 1e6, perCpuSecond: p.flops / median(cpuTimes) / 1e6 };
}

/** One cpu run on the reduced shape; the rate is what scales to the full shape. */
function benchCpu(c: Case): { gflops: number; shape: string; estMs: number } {
  const p = c.prepare(true);
  const ms = timeMs(p.run);
  p.dispose();
  const gflops = p.flops / ms / 1e6;
  return { gflops, shape: p.shape, estMs: c.flops / gflops / 1e6 };
}

const TORCH_SCRIPT = String.raw`
import json, sys, time, torch
import torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1])); runs = int(sys.argv[2])
def med(f):
    f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1000)
    ts.sort(); return ts[len(ts) // 2]
out = {}
with torch.no_grad():
    x = torch.randn(8, 64, 64, 64); w = torch.randn(64, 64, 3, 3); dy = torch.randn(8, 64, 64, 64)
    out['a'] = med(lambda: F.conv2d(x, w, padding=1))
    bw = lambda mask: torch.ops.aten.convolution_backward(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)
    out['c_dx'] = med(lambda: bw([True, False, False]))
    out['c_dw'] = med(lambda: bw([False, True, False]))
    xb = torch.randn(16, 256, 28, 28); wb = torch.randn(256, 256, 3, 3)
    out['b'] = med(lambda: F.conv2d(xb, wb, padding=1))
    ma = torch.randn(1024, 1024); mb = torch.randn(1024, 1024)
    out['d'] = med(lambda: torch.mm(ma, mb))
    xd = torch.randn(16, 128, 56, 56); wd = torch.randn(128, 1, 3, 3)
    out['e'] = med(lambda: F.conv2d(xd, wd, padding=1, groups=128))
    fa = torch.randn(1, 25088); fb = torch.randn(25088, 512)
    out['f'] = med(lambda: torch.mm(fa, fb))
print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads(), 'ms': out}))
`;

/** PyTorch medians in ms per case key, or a reason it could not run. */
function benchTorch(threads: number): { ms: Record<string, number>; version: string } | string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const res = spawnSync(py, ['-c', TORCH_SCRIPT, String(threads), String(runs)], { encoding: 'utf8', timeout: 600_000 });
    if (res.status === 0) {
      const line = res.stdout.trim().split('\n').pop() ?? '';
      const parsed = JSON.parse(line) as { version: string; ms: Record<string, number> };
      return { ms: parsed.ms, version: parsed.version };
    }
  }
  return 'no python3 with torch';
}

function fmt(v: number | undefined, digits = 1): string {
  return v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** Nominal fp32 peak: cores x FLOP/cycle (2 FMA units x vector width x 2) x base clock. */
function nominalPeak(isa: string, threads: number): { gflops: number; note: string } {
  const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readCpuInfo())?.[1] ?? '0') || (cpus()[0]?.speed ?? 0);
  const perCycle = isa === 'avx512' ? 64 : isa === 'avx2' ? 32 : 8;
  return { gflops: (threads * perCycle * mhz) / 1000, note: `${threads} cores x ${perCycle} FLOP/cycle x ${(mhz / 1000).toFixed(2)} GHz` };
}

function readCpuInfo(): string {
  try {
    return spawnSync('cat', ['/proc/cpuinfo'], { encoding: 'utf8' }).stdout ?? '';
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  await initBackend('native');
  const line = describeBackend();
  console.log(line);
  const info = /\((\d+) threads, (\w+)\)/.exec(line);
  const threads = Number(info?.[1] ?? cpus().length);
  const peak = nominalPeak(info?.[2] ?? 'portable', threads);
  console.log(`runs per case: ${runs} (median); nominal fp32 peak ${fmt(peak.gflops, 0)} GFLOP/s (${peak.note})`);

  const native: Record<string, { ms: number; gflops: number; perCpuSecond: number }> = {};
  for (const c of CASES) native[c.key] = benchNative(c);

  const torch = withTorch ? benchTorch(threads) : 'skipped (--no-torch)';

  const cpu: Record<string, { gflops: number; shape: string; estMs: number }> = {};
  if (withCpu) {
    await initBackend('cpu');
    for (const c of CASES) cpu[c.key] = benchCpu(c);
    console.log('tfjs cpu: timed once per case on a reduced shape and scaled by FLOPs:');
    for (const c of CASES) console.log(`  ${c.label}: ran ${cpu[c.key]?.shape}, estimated ${fmt((cpu[c.key]?.estMs ?? NaN) / 1000, 1)} s at full size`);
  }
  if (typeof torch === 'string') console.log(`PyTorch: ${torch}`);
  else console.log(`PyTorch ${torch.version}, torch.set_num_threads(${threads}), NCHW, same process run right after native`);

  const header = ['case', 'native ms', 'native GF/s', '% peak', 'GF/cpu-s', 'cpu GF/s', 'native/cpu', 'torch ms', 'torch GF/s', 'native/torch'];
  const rows = CASES.map((c) => {
    const n = native[c.key] as { ms: number; gflops: number; perCpuSecond: number };
    const cg = cpu[c.key]?.gflops;
    const tms = typeof torch === 'string' ? undefined : torch.ms[c.key];
    const tg = tms === undefined ? undefined : c.flops / tms / 1e6;
    return [
      c.label, fmt(n.ms), fmt(n.gflops), fmt((100 * n.gflops) / peak.gflops, 0), fmt(n.perCpuSecond), fmt(cg, 3), fmt(cg ? n.gflops / cg : undefined, 0),
      fmt(tms), fmt(tg), fmt(tg ? n.gflops / tg : undefined, 2),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const show = (r: string[]) => `| ${r.map((v, i) => v.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log(show(header));
  console.log(show(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(show(r));
  if (process.env['DIFFIQA_CONV_WINOGRAD'] !== '0') {
    console.log(
      'GF/s count a direct convolution\'s FLOPs (2·N·H·W·k²·Cin·Cout) on both sides. Native (a), (b) and the input grad' +
        ' of (a) run Winograd F(2x2,3x3), with 2.25x fewer multiply-adds: theirs are effective rates, and % peak can' +
        ' pass 100 (DIFFIQA_CONV_WINOGRAD=0 times the direct kernel).',
    );
  }
}

await main();
