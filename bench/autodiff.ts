/**
 * What tf.grad adds around a convolution's kernels (issue 17, item 4): a 3x3 8x64x64x64->64 conv forward plus its
 * filter gradient, timed as the two native kernels called directly, through tf.grad with an explicit upstream
 * gradient, through tf.grad with its implicit ones-filled one, and through tf.variableGrads of a sum (as a loss
 * reduces), each the median of --runs calls after one warm-up.
 *
 *   node --import tsx bench/autodiff.ts [--runs 9]
 */
import { describeBackend, initBackend, tf } from '../src/backend/index.js';
import { arg, median } from './args.js';

const runs = Number(arg('runs', '9'));

function medianMs(fn: () => void): number {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

await initBackend('native');
console.log(describeBackend());
const x = tf.randomNormal([8, 64, 64, 64]) as tf.Tensor4D;
const w = tf.randomNormal([3, 3, 64, 64]) as tf.Tensor4D;
const dy = tf.randomNormal([8, 64, 64, 64]) as tf.Tensor4D;
const wv = tf.variable(w);
const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: w.shape };
const conv = (filter: tf.Tensor): tf.Tensor4D => tf.conv2d(x, filter as tf.Tensor4D, 1, 'same');
const gradOfConv = tf.grad(conv);

const cases: [string, () => void][] = [
  ['kernels alone (Conv2D + Conv2DBackpropFilter)', () => {
    const y = conv(w);
    const g = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
    tf.dispose([y, g]);
  }],
  ['tf.grad, explicit dy', () => gradOfConv(w, dy).dispose()],
  ['tf.grad, implicit ones dy', () => gradOfConv(w).dispose()],
  ['tf.variableGrads of sum(conv)', () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(conv(wv)) as tf.Scalar, [wv]);
    tf.dispose([value, ...Object.values(grads)]);
  }],
];
const times = cases.map(([, fn]) => medianMs(fn));
cases.forEach(([name], i) => {
  const ms = times[i] as number;
  console.log(`${name.padEnd(48)} ${ms.toFixed(1).padStart(6)} ms  (${(ms / (times[0] as number)).toFixed(2)}x the kernels)`);
});
tf.dispose([x, w, dy, wv]);
