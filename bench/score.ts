/**
 * Scoring throughput and training-step time of the quality regressors, against the same networks in PyTorch.
 *
 *   node --import tsx bench/score.ts [--backend native|cpu] [--nets mobileface,r50] [--batches 1,64]
 *                                    [--train-batch 16 (0: no training step)] [--budget-s 20] [--no-torch]
 *   node --import tsx bench/score.ts --profile [--nets mobileface] [--batches 64] [--train-batch 16] [--top 20]
 *
 * --profile prints, per net, the per-kernel profile (bench/profile.ts) of one scoring forward at each batch and
 * of one training step, each after two warm-up calls and one unprofiled timed call; no PyTorch.
 *
 * Networks: eDifFIQA heads (MLP 1024) on the bundled `mobileface` backbone and on IResNet-50 (random weights:
 * speed only). Scoring is eval mode; a training step is forward in train mode + gradients for the head and the
 * last 100 backbone tensors + Adam (the regressor's real optimiser set-up, METHOD §3). PyTorch runs the same
 * shapes with torch.set_num_threads(2) via /usr/bin/python3 when it has torch. Each measurement takes the median
 * of up to 5 timed calls after one warm-up, stopping early after `--budget-s`; a configuration whose first call
 * is predicted (from batch 1, assuming at most 8x batching gain) to exceed 10x the budget is skipped and says so (IResNet-50 at batch 64 on tfjs' cpu backend).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { initBackend } from '../src/backend/index.js';
import { tf } from '../src/backend/tf.js';
import { createQualityRegressor, type QualityRegressor } from '../src/regressor/model.js';
import { backboneSpecFor } from '../src/regressor/spec.js';
import { selectParamGroups } from '../src/train/train-regressor.js';
import { Adam } from '../src/train/adam.js';
import { printKernelProfile } from './profile.js';
import { arg } from './args.js';

const budgetS = Number(arg('budget-s', '20'));

/** Median seconds of `fn` over up to 5 timed calls after a warm-up; null when predicted too slow. */
async function timeIt(fn: () => Promise<void> | void, predictS?: number): Promise<number | null> {
  if (predictS !== undefined && predictS > 10 * budgetS) return null;
  await fn();
  const times: number[] = [];
  const t0 = Date.now();
  while (times.length < 5 && (times.length === 0 || (Date.now() - t0) / 1000 < budgetS)) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

function scoreOnce(model: QualityRegressor, x: tf.Tensor4D): void {
  const q = tf.tidy(() => model.forward(x, false).quality);
  q.dataSync();
  q.dispose();
}

function trainStepOnce(model: QualityRegressor, opt: Adam, x: tf.Tensor4D, y: tf.Tensor1D): void {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(model.forward(x, true).quality, y))) as tf.Scalar, opt.variables());
  opt.step(grads);
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
}

interface Row {
  net: string;
  what: string;
  ours: number | null;
  torch: number | null;
}

const TORCH_SCRIPT = String.raw`
import json, sys, time, torch
from torch import nn
torch.set_num_threads(2)
sys.path.insert(0, 'test/fixtures/fr')
from gen_backbones import IResNet
cfg = json.loads(sys.argv[1])
class Stage(nn.Module):
    def __init__(s, cin, c):
        super().__init__()
        s.c0 = nn.Conv2d(cin, c, 1, bias=False); s.d0 = nn.Conv2d(c, c, 3, 2, 1, groups=c, bias=False); s.p0 = nn.PReLU(c)
        s.d1 = nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False); s.p1 = nn.PReLU(c)
        s.d2 = nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False); s.p2 = nn.PReLU(c)
    def forward(s, x):
        a = s.p0(s.d0(s.c0(x)))
        return s.p2(s.d2(s.p1(s.d1(a)))) + a
class Mobileface(nn.Module):  # src/fr/mobileface.ts structure, random weights
    def __init__(s):
        super().__init__()
        s.conv1 = nn.Conv2d(3, 32, 3, 2, 1, bias=False); s.prelu1 = nn.PReLU(32)
        s.stages = nn.Sequential(Stage(32, 32), Stage(32, 32), Stage(32, 64), Stage(64, 128))
        s.dense = nn.Linear(2048, 256, bias=False); s.scale = nn.Parameter(torch.ones(256)); s.shift = nn.Parameter(torch.zeros(256))
    def forward(s, x):
        h = s.stages(s.prelu1(s.conv1(x)))
        return s.dense(torch.flatten(h, 1)) * s.scale + s.shift
class Reg(nn.Module):
    def __init__(s, base, d):
        super().__init__(); s.base_model = base; s.mlp = nn.Sequential(nn.Linear(d, 1024), nn.GELU(), nn.Linear(1024, 1))
    def forward(s, x): return s.mlp(s.base_model(x)).reshape(-1)
def build(net):
    return Reg(Mobileface(), 256) if net == 'mobileface' else Reg(IResNet([3, 4, 14, 3]), 512)
def median(fn, predict=None):
    if predict is not None and predict > 10 * cfg['budget']: return None
    fn(); ts = []; t0 = time.time()
    while len(ts) < 5 and (not ts or time.time() - t0 < cfg['budget']):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2]
out = {}
for net in cfg['nets']:
    m = build(net); m.eval(); b1 = None
    for b in cfg['batches']:
        x = torch.rand(b, 3, 112, 112)
        def f():
            with torch.no_grad(): m(x)
        t = median(f, None if b1 is None else b1 * b / 8)
        if b == 1: b1 = t
        out[f'{net}|score b{b}'] = t
    m.train()
    params = list(m.base_model.parameters())[-100:]
    opt = torch.optim.Adam([{'params': m.mlp.parameters(), 'lr': 1e-3}, {'params': params, 'lr': 1e-4}])
    x = torch.rand(cfg['trainBatch'], 3, 112, 112); y = torch.rand(cfg['trainBatch'])
    def step():
        opt.zero_grad(); loss = (m(x) - y).abs().mean(); loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 5); opt.step()
    if cfg['trainBatch'] <= 0: continue
    out[f'{net}|train step b{cfg["trainBatch"]}'] = median(step, None if b1 is None else b1 * 3 * cfg['trainBatch'] / 8)
print(json.dumps(out))
`;

function runTorch(nets: string[], batches: number[], trainBatch: number): Record<string, number | null> | string {
  if (!existsSync('/usr/bin/python3')) return 'no /usr/bin/python3';
  const cfg = JSON.stringify({ nets, batches, trainBatch, budget: budgetS });
  const r = spawnSync('/usr/bin/python3', ['-c', TORCH_SCRIPT, cfg], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) return `PyTorch failed: ${(r.stderr || '').trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number | null>;
}

function fmt(v: number | null, imgs: number): string {
  return v === null ? 'skipped' : `${(v * 1000).toFixed(1)} ms (${(imgs / v).toFixed(1)} img/s)`;
}

/** Two warm-ups, one timed call, then the kernel profile of one more call. */
async function profileCall(title: string, fn: () => void, top: number): Promise<void> {
  fn();
  fn();
  const t0 = performance.now();
  fn();
  await printKernelProfile(`\n=== ${title}: ${(performance.now() - t0).toFixed(1)} ms unprofiled`, fn, top);
}

async function profileNets(nets: string[], batches: number[], trainBatch: number, top: number): Promise<void> {
  for (const net of nets) {
    const model = createQualityRegressor({ kind: 'ediffiqa', backbone: backboneSpecFor(net), hidden: 1024 });
    for (const b of batches) {
      const x = tf.randomUniform([b, 112, 112, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      await profileCall(`${net} score b${b}`, () => scoreOnce(model, x), top);
      x.dispose();
    }
    if (trainBatch > 0) {
      const opt = new Adam(selectParamGroups(model, 100, 1e-3, 1e-4), { beta1: 0.9, beta2: 0.999, clipGradNorm: 5 });
      const x = tf.randomUniform([trainBatch, 112, 112, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
      const y = tf.randomUniform([trainBatch], 0, 1, 'float32', 3) as tf.Tensor1D;
      await profileCall(`${net} train step b${trainBatch}`, () => trainStepOnce(model, opt, x, y), top);
      tf.dispose([x, y]);
      opt.dispose();
    }
    model.dispose();
  }
}

async function main(): Promise<void> {
  const backend = await initBackend(arg('backend', '') || undefined);
  const nets = arg('nets', 'mobileface,r50').split(',');
  const batches = arg('batches', '1,64').split(',').map(Number);
  const trainBatch = Number(arg('train-batch', '16'));
  if (process.argv.includes('--profile')) {
    console.log(`backend ${backend}; ${new Date().toISOString()}`);
    await profileNets(nets, batches, trainBatch, Number(arg('top', '20')));
    return;
  }
  console.log(`backend ${backend}; budget ${budgetS} s per measurement; ${new Date().toISOString()}`);
  const rows: Row[] = [];
  for (const net of nets) {
    const model = createQualityRegressor({ kind: 'ediffiqa', backbone: backboneSpecFor(net), hidden: 1024 });
    let b1: number | null = null;
    for (const b of batches) {
      const x = tf.randomUniform([b, 112, 112, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const t = await timeIt(() => scoreOnce(model, x), b1 === null ? undefined : (b1 * b) / 8);
      if (b === 1) b1 = t;
      rows.push({ net, what: `score b${b}`, ours: t, torch: null });
      console.log(`  ${net} score b${b}: ${fmt(t, b)}`);
      x.dispose();
    }
    if (trainBatch <= 0) {
      model.dispose();
      continue;
    }
    const opt = new Adam(selectParamGroups(model, 100, 1e-3, 1e-4), { beta1: 0.9, beta2: 0.999, clipGradNorm: 5 });
    const x = tf.randomUniform([trainBatch, 112, 112, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.randomUniform([trainBatch], 0, 1, 'float32', 3) as tf.Tensor1D;
    const t = await timeIt(() => trainStepOnce(model, opt, x, y), b1 === null ? undefined : (b1 * 3 * trainBatch) / 8);
    rows.push({ net, what: `train step b${trainBatch}`, ours: t, torch: null });
    console.log(`  ${net} train step b${trainBatch}: ${fmt(t, trainBatch)}`);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  }
  if (!process.argv.includes('--no-torch')) {
    const torch = runTorch(nets, batches, trainBatch);
    if (typeof torch === 'string') console.log(`PyTorch: ${torch}`);
    else for (const r of rows) r.torch = torch[`${r.net}|${r.what}`] ?? null;
  }
  console.log(`\n| net | measurement | ours (${backend}) | PyTorch (2 threads) | ours / PyTorch time |\n|---|---|---|---|---|`);
  for (const r of rows) {
    const n = Number(/b(\d+)/.exec(r.what)?.[1] ?? 1);
    const ratio = r.ours !== null && r.torch !== null && r.torch !== undefined ? `${(r.ours / r.torch).toFixed(2)}x` : 'n/a';
    console.log(`| ${r.net} | ${r.what} | ${fmt(r.ours, n)} | ${fmt(r.torch ?? null, n)} | ${ratio} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
