/**
 * Exponential moving average of model weights with ema-pytorch's schedule (METHOD §1.5): the EMA is touched
 * every `updateEvery` steps; up to `updateAfterStep` it is a plain copy; afterwards the decay ramps as
 * 1 - (1 + k/invGamma)^-power (k = steps since warm-up), capped at `beta`. Library version UNCONFIRMED upstream;
 * these are ema-pytorch's documented defaults.
 */
import { tf } from '../backend/tf.js';
import { assignHost, fromTorchLayout, toTorchLayout, type HostTensor, type ParamStore } from '../nn/params.js';
import { CheckpointError } from '../util/errors.js';

export interface EmaOptions {
  beta: number;
  updateEvery: number;
  updateAfterStep?: number;
  invGamma?: number;
  power?: number;
  minValue?: number;
}

/** Shadow copies of every entry of a ParamStore (buffers included, copied rather than averaged). */
export class Ema {
  private readonly shadow = new Map<string, tf.Variable>();
  /** ema-pytorch's internal step counter (incremented on every update() call). */
  step = 0;

  constructor(
    private readonly params: ParamStore,
    private readonly opts: EmaOptions,
  ) {
    for (const name of params.names()) {
      const v = params.get(name);
      this.shadow.set(name, tf.tidy(() => tf.variable(v.clone(), false)));
    }
  }

  /** Decay for the current step, as ema-pytorch's get_current_decay. */
  currentDecay(): number {
    const after = this.opts.updateAfterStep ?? 100;
    const epoch = Math.max(this.step - after - 1, 0);
    if (epoch <= 0) return 0;
    const value = 1 - (1 + epoch / (this.opts.invGamma ?? 1)) ** -(this.opts.power ?? 2 / 3);
    return Math.min(Math.max(value, this.opts.minValue ?? 0), this.opts.beta);
  }

  /** Called once per optimiser step, after the update. */
  update(): void {
    const step = this.step;
    this.step += 1;
    if (step % this.opts.updateEvery !== 0) return;
    const after = this.opts.updateAfterStep ?? 100;
    // ema-pytorch copies during warm-up and again at the first update after it (its `initted` flag), which is
    // the update whose predecessor (step - updateEvery) still fell inside the warm-up. currentDecay() reads the
    // already-incremented counter, as the library does.
    const decay = step - this.opts.updateEvery <= after ? 0 : this.currentDecay();
    for (const [name, ema] of this.shadow) {
      const entry = this.params.entry(name);
      const cur = this.params.get(name);
      if (!entry?.trainable || decay === 0) {
        ema.assign(cur);
      } else {
        tf.tidy(() => ema.assign(ema.add(cur.sub(ema).mul(1 - decay))));
      }
    }
  }

  /** Host copies named like the model's parameters, in tfjs layouts (ParamStore.restore takes them). */
  snapshot(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const [name, v] of this.shadow) out.set(name, { shape: [...v.shape], data: v.dataSync() as Float32Array });
    return out;
  }

  /** Host copies in PyTorch layouts under the reference names (the checkpoint format). */
  snapshotTorch(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const [name, t] of this.snapshot()) out.set(name, toTorchLayout(t, this.params.entry(name)?.kind ?? 'plain'));
    return out;
  }

  /** Restores from `snapshotTorch()` output. */
  restoreTorch(values: ReadonlyMap<string, HostTensor>, source: string): void {
    for (const [name, v] of this.shadow) {
      const saved = values.get(name);
      if (!saved) throw new CheckpointError(source, `ema.${name}`, 'missing EMA weight');
      const t = fromTorchLayout(saved, this.params.entry(name)?.kind ?? 'plain', name, source);
      assignHost(v, t);
    }
  }

  dispose(): void {
    for (const v of this.shadow.values()) v.dispose();
    this.shadow.clear();
  }
}
