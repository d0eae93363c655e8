/** Shapes and broadcast batch indices for BatchMatMul / _FusedMatMul, following tfjs cpu's BatchMatMul. */
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';

export interface MatMulPlan {
  m: number;
  n: number;
  k: number;
  outShape: number[];
  aIndex: Int32Array;
  bIndex: Int32Array;
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = (strides[i + 1] ?? 1) * (shape[i + 1] ?? 1);
  return strides;
}

/** For each output batch, the index of the operand's matrix (NumPy-style broadcasting of the batch dims). */
export function broadcastIndex(operand: readonly number[], out: readonly number[]): Int32Array {
  const total = util.sizeFromShape([...out]);
  const index = new Int32Array(total);
  const offset = out.length - operand.length;
  const opStrides = stridesOf(operand);
  const outStrides = stridesOf(out);
  for (let i = 0; i < total; i++) {
    let rest = i;
    let idx = 0;
    for (let d = 0; d < out.length; d++) {
      const coord = Math.floor(rest / (outStrides[d] ?? 1));
      rest -= coord * (outStrides[d] ?? 1);
      const od = d - offset;
      if (od >= 0 && (operand[od] ?? 1) !== 1) idx += coord * (opStrides[od] ?? 0);
    }
    index[i] = idx;
  }
  return index;
}

/** The plan for a (op) b, or null when the shapes are not a valid batched matmul (then the cpu kernel reports it). */
export function planMatMul(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulPlan | null {
  const ar = a.shape.length;
  const br = b.shape.length;
  if (ar < 2 || br < 2) return null;
  const innerA = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const innerB = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const m = (transposeA ? a.shape[ar - 1] : a.shape[ar - 2]) as number;
  const n = (transposeB ? b.shape[br - 2] : b.shape[br - 1]) as number;
  if (innerA !== innerB || innerA === undefined) return null;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  let outBatch: number[];
  try {
    outBatch = backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  } catch {
    return null;
  }
  return {
    m,
    n,
    k: innerA,
    outShape: [...outBatch, m, n],
    aIndex: broadcastIndex(aBatch, outBatch),
    bIndex: broadcastIndex(bBatch, outBatch),
  };
}
