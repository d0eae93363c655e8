/**
 * Select (tf.where) on `native` when condition, t and e share one shape and t, e one 32-bit dtype (tfjs's PReLU
 * and ReLU-family gradients): one multi-threaded pass. Other cases fall back to tfjs cpu.
 */
import { Select, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { allocWords, wordsOf } from './data-movement-util.js';
import { runCpuKernel, type KernelArgs } from './native-kernel-util.js';

function selectKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { condition, t, e } = args.inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
  const cond = condition.dtype === 'bool' ? args.backend.data.get(condition.dataId)?.values : undefined;
  const tv = wordsOf(args.backend, t);
  const ev = wordsOf(args.backend, e);
  if (
    !(cond instanceof Uint8Array) || tv === null || ev === null || t.dtype !== e.dtype ||
    !util.arraysEqual(condition.shape, t.shape) || !util.arraysEqual(t.shape, e.shape) || cond.length !== tv.length
  ) {
    return runCpuKernel(Select, args);
  }
  const out = allocWords(args.backend, [...t.shape], t.dtype, true);
  if (tv.length > 0) loadNativeAddon().select(cond, tv, ev, out.values);
  return out.info;
}

export const selectConfig: KernelConfig = {
  kernelName: Select,
  backendName: 'native',
  kernelFunc: selectKernel as unknown as KernelFunc,
};
