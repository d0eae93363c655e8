/**
 * Chained tensor methods (`t.add(u)`, `t.reshape(s)`, ...), installed from tfjs-core's op functions.
 * tfjs ships them as '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js', but that file is
 * an ES module with directory imports that plain Node (and tsx) cannot load, and it would bind to tfjs-core's ESM
 * copy rather than the CommonJS bundle Node resolves. Installing them here works under Node, tsx and vitest alike,
 * with the same semantics as the tfjs files (each method calls `op(this, ...args)`; the exceptions are spelled out).
 */
import * as tfc from '@tensorflow/tfjs-core';
import type { Rank, Tensor } from '@tensorflow/tfjs-core';

/** Methods that are exactly `function (...args) { return op(this, ...args); }` in tfjs. */
const PLAIN_CHAINED_OPS: readonly string[] = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan', 'atan2', 'atanh',
  'batchNorm', 'batchToSpaceND', 'broadcastTo', 'cast', 'ceil', 'clipByValue', 'conv1d', 'conv2d', 'cos', 'cosh',
  'cumprod', 'cumsum', 'depthToSpace', 'div', 'divNoNan', 'dot', 'elu', 'equal', 'erf', 'euclideanNorm', 'exp',
  'expandDims', 'expm1', 'fft', 'floor', 'floorDiv', 'gather', 'greater', 'greaterEqual', 'ifft', 'irfft',
  'isFinite', 'isInf', 'isNaN', 'leakyRelu', 'less', 'lessEqual', 'log', 'log1p', 'logSigmoid', 'logSoftmax',
  'logSumExp', 'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor', 'matMul', 'max', 'maximum', 'mean', 'min',
  'minimum', 'mirrorPad', 'mod', 'mul', 'neg', 'norm', 'notEqual', 'oneHot', 'onesLike', 'pad', 'pool', 'pow',
  'prelu', 'prod', 'reciprocal', 'relu', 'relu6', 'reshape', 'reverse', 'rfft', 'round', 'rsqrt', 'selu', 'sigmoid',
  'sign', 'sin', 'sinh', 'slice', 'softmax', 'softplus', 'spaceToBatchND', 'split', 'sqrt', 'square',
  'squaredDifference', 'squeeze', 'step', 'stridedSlice', 'sub', 'sum', 'tan', 'tanh', 'tile', 'topk', 'transpose',
  'unique', 'unstack', 'zerosLike',
];

type OpFn = (...args: unknown[]) => Tensor;
type Proto = Record<string, unknown> & { throwIfDisposed?: () => void };

function define(proto: Proto, name: string, fn: (this: Tensor, ...args: never[]) => unknown): void {
  if (typeof proto[name] === 'function') return;
  Object.defineProperty(proto, name, {
    value: function chained(this: Tensor, ...args: never[]) {
      (this as unknown as Proto).throwIfDisposed?.();
      return fn.apply(this, args);
    },
    writable: true,
    configurable: true,
  });
}

/** Installs every chained method that is still missing on tf.Tensor.prototype (idempotent). */
export function installChainedOps(): void {
  const proto = tfc.Tensor.prototype as unknown as Proto;
  const ops = tfc as unknown as Record<string, OpFn | undefined>;
  for (const name of PLAIN_CHAINED_OPS) {
    const op = ops[name];
    if (typeof op === 'function') define(proto, name, function (this: Tensor, ...args: never[]) { return op(this, ...args); });
  }
  define(proto, 'as1D', function (this: Tensor) { return tfc.reshape(this, [this.size]); });
  define(proto, 'as2D', function (this: Tensor, r: number, c: number) { return tfc.reshape(this, [r, c]); });
  define(proto, 'as3D', function (this: Tensor, r: number, c: number, d: number) { return tfc.reshape(this, [r, c, d]); });
  define(proto, 'as4D', function (this: Tensor, r: number, c: number, d: number, d2: number) {
    return tfc.reshape(this, [r, c, d, d2]);
  });
  define(proto, 'as5D', function (this: Tensor, r: number, c: number, d: number, d2: number, d3: number) {
    return tfc.reshape(this, [r, c, d, d2, d3]);
  });
  define(proto, 'asScalar', function (this: Tensor) {
    tfc.util.assert(this.size === 1, () => 'The array must have only 1 element.');
    return tfc.reshape(this, []);
  });
  define(proto, 'flatten', function (this: Tensor) { return tfc.reshape(this, [this.size]); });
  define(proto, 'reshapeAs', function (this: Tensor, x: Tensor) { return tfc.reshape(this, x.shape); });
  define(proto, 'asType', function (this: Tensor, dtype: tfc.DataType) { return tfc.cast(this, dtype); });
  define(proto, 'toBool', function (this: Tensor) { return tfc.cast(this, 'bool'); });
  define(proto, 'toFloat', function (this: Tensor) { return tfc.cast(this, 'float32'); });
  define(proto, 'toInt', function (this: Tensor) { return tfc.cast(this, 'int32'); });
  define(proto, 'concat', function (this: Tensor, x: Tensor | Tensor[], axis?: number) {
    return tfc.concat([this, ...(x instanceof tfc.Tensor ? [x] : x)], axis);
  });
  define(proto, 'stack', function (this: Tensor, x: Tensor | Tensor[], axis?: number) {
    return tfc.stack(x instanceof tfc.Tensor ? [this, x] : [this, ...x], axis);
  });
  define(proto, 'where', function (this: Tensor, condition: Tensor, x: Tensor<Rank>) {
    return tfc.where(condition, this, x);
  });
}
