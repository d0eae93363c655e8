/**
 * Parameter declaration shared by the trainable backbones. A backbone declares its parameters once
 * through a `ParamDeclarer`; `storeDeclarer` registers them in a ParamStore (allocating, PyTorch default
 * init) and `shapeDeclarer` only records PyTorch names and shapes, so that real-size configurations
 * (IResNet-100: 65 M parameters) can be checked against the reference without allocating them.
 */
import type { ParamStore } from '../nn/params.js';

/** The parameter kinds the FR backbones use, in PyTorch terms. */
export interface ParamDeclarer {
  conv(prefix: string, k: number, cin: number, cout: number, bias: boolean): void;
  /** Grouped conv, no bias: PyTorch weight [cout, cin/groups, k, k], stored HWIO [k,k,cin/groups,cout]. */
  groupedConv(prefix: string, k: number, cin: number, cout: number, groups: number): void;
  depthwise(prefix: string, k: number, channels: number): void;
  batchNorm(prefix: string, channels: number, frozenWeight?: boolean): void;
  prelu(prefix: string, channels: number): void;
  linear(prefix: string, fanIn: number, fanOut: number, bias: boolean): void;
}

/** Registers into a ParamStore. PReLU slopes start at 0.25 (PyTorch's default). */
export function storeDeclarer(p: ParamStore): ParamDeclarer {
  return {
    conv: (prefix, k, cin, cout, bias) => p.addConv(prefix, k, k, cin, cout, bias),
    groupedConv: (prefix, k, cin, cout, groups) => p.addConv(prefix, k, k, cin / groups, cout, false),
    depthwise: (prefix, k, c) => p.addDepthwise(prefix, k, k, c, false),
    batchNorm: (prefix, c, frozenWeight = false) => {
      if (!frozenWeight) return p.addBatchNorm(prefix, c);
      // insightface's `features` BN1d: weight fixed to 1 with requires_grad=False (kept out of training).
      p.addConst(`${prefix}.weight`, [c], 1, false);
      p.addConst(`${prefix}.bias`, [c], 0);
      p.addConst(`${prefix}.running_mean`, [c], 0, false);
      p.addConst(`${prefix}.running_var`, [c], 1, false);
    },
    prelu: (prefix, c) => void p.addConst(`${prefix}.weight`, [c], 0.25),
    linear: (prefix, fanIn, fanOut, bias) => p.addLinear(prefix, fanIn, fanOut, bias),
  };
}

/** Records [name, PyTorch shape] pairs in declaration (= state_dict) order. */
export function shapeDeclarer(out: [string, number[]][]): ParamDeclarer {
  return {
    conv: (prefix, k, cin, cout, bias) => {
      out.push([`${prefix}.weight`, [cout, cin, k, k]]);
      if (bias) out.push([`${prefix}.bias`, [cout]]);
    },
    groupedConv: (prefix, k, cin, cout, groups) => void out.push([`${prefix}.weight`, [cout, cin / groups, k, k]]),
    depthwise: (prefix, k, c) => void out.push([`${prefix}.weight`, [c, 1, k, k]]),
    batchNorm: (prefix, c) => {
      for (const n of ['weight', 'bias', 'running_mean', 'running_var']) out.push([`${prefix}.${n}`, [c]]);
    },
    prelu: (prefix, c) => void out.push([`${prefix}.weight`, [c]]),
    linear: (prefix, fanIn, fanOut, bias) => {
      out.push([`${prefix}.weight`, [fanOut, fanIn]]);
      if (bias) out.push([`${prefix}.bias`, [fanOut]]);
    },
  };
}
