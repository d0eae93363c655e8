/**
 * Seeded, serialisable random numbers. Every stochastic step in diffiqa draws from an `Rng`, so that a run
 * is reproducible and a resumed run continues the exact same stream (the state is saved in checkpoints).
 */
import seedrandom from 'seedrandom';

/** Opaque serialisable generator state (seedrandom's ARC4 state). */
export type RngState = object;

/** A seeded generator of uniform, integer and Gaussian draws with savable state. */
export class Rng {
  private prng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>;
  private spareNormal: number | null = null;

  constructor(seed: string | number, state?: RngState) {
    this.prng = state
      ? seedrandom('', { state: state as seedrandom.State.Arc4 })
      : seedrandom(String(seed), { state: true });
  }

  /** Restores a generator from `state()`. */
  static fromState(state: RngState): Rng {
    const { arc4, spareNormal } = state as { arc4: RngState; spareNormal: number | null };
    const rng = new Rng('', arc4);
    rng.spareNormal = spareNormal;
    return rng;
  }

  /** The full state, JSON-serialisable. */
  state(): RngState {
    return { arc4: this.prng.state(), spareNormal: this.spareNormal };
  }

  /** Uniform in [0, 1) with 53 bits of randomness. */
  uniform(): number {
    return this.prng.double();
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer uniform in [lo, hi] inclusive, like Python's random.randint. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.uniform() < p;
  }

  /** One element of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.uniform() * items.length)] as T;
  }

  /** Standard normal draw (Box-Muller, the spare value cached). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u <= Number.EPSILON) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fills a new Float32Array of length n with standard normal draws. */
  normalArray(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  /** In-place Fisher-Yates shuffle; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}

/** A seed derived from a base seed and a key (e.g. an image path): independent of order and batching. */
export function deriveSeed(base: string | number, key: string): string {
  // FNV-1a over the key, mixed with the base; seedrandom then hashes the string again.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${base}:${h.toString(16)}:${key}`;
}
