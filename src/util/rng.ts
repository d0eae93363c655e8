/**
 * Seeded, serialisable random numbers. Every stochastic step in diffiqa draws from an `Rng`, so that a run
 * is reproducible and a resumed run continues the exact same stream (the state is saved in checkpoints).
 *
 * seedrandom seeds the generator (its key schedule and RC4-drop[256]); the draws then come from our own copy of its
 * ARC4 stream and double construction on a typed array, which yields the same numbers bit for bit (tested against
 * seedrandom). The labeller draws ~10 M normals per cpu-small batch, most of its time outside the UNet; this copy and
 * normalArray's unboxed pairs draw 1.5 M normals in 56-58 ms instead of seedrandom's 75. `Rng.normalArrays` draws
 * from several generators at once (the labeller's one per image) and can hand their RC4 streams to a
 * `NormalPairSource` (the native addon's threads, src/backend/random.ts), which returns the same normals: the same
 * bytes and doubles, and Box-Muller in double whose few doubtful roundings come back here for V8's Math.
 */
import seedrandom from 'seedrandom';

/** Opaque serialisable generator state (seedrandom's ARC4 state). */
export type RngState = object;

interface Arc4State {
  i: number;
  j: number;
  S: number[];
}

const TWO_48 = 2 ** 48;
const TWO_52 = 2 ** 52;
const TWO_53 = 2 ** 53;

/** Bytes of one generator's RC4 state for a NormalPairSource: S[256], i, j (native/random.h). */
export const ARC4_STATE_BYTES = 258;

/**
 * Advances G RC4 generators, given as G x ARC4_STATE_BYTES bytes of state (updated in place), by `pairs` Box-Muller
 * pairs each (u > Number.EPSILON, redrawn as normal() does, then v, both seedrandom doubles), and writes their normals
 * to out (2 x pairs floats per generator). Returns (index in out, u, v) for each pair left to this file's Box-Muller:
 * those whose float32 values a last-bit difference between the source's log/cos/sin and V8's could change.
 */
export type NormalPairSource = (states: Uint8Array, pairs: number, out: Float32Array) => Float64Array;

/** Box-Muller: the two normals of the uniform pair (u, v) into out[k] (cosine) and out[k + 1] (sine). */
function boxMullerPair(u: number, v: number, out: Float32Array, k: number): void {
  const r = Math.sqrt(-2 * Math.log(u));
  out[k] = r * Math.cos(2 * Math.PI * v);
  out[k + 1] = r * Math.sin(2 * Math.PI * v);
}

/** A seeded generator of uniform, integer and Gaussian draws with savable state. */
export class Rng {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;
  private spareNormal: number | null = null;

  constructor(seed: string | number, state?: RngState) {
    const prng = state
      ? seedrandom('', { state: state as seedrandom.State.Arc4 })
      : seedrandom(String(seed), { state: true });
    const arc4 = prng.state() as unknown as Arc4State;
    this.s.set(arc4.S);
    this.i = arc4.i;
    this.j = arc4.j;
  }

  /**
   * `perRng` standard normals from each generator, concatenated: the same values, and the same generator states
   * after, as `rngs.map((r) => r.normalArray(perRng))`. With a `normals` source (the native addon's, which runs the
   * generators in parallel) the draws happen there; without one, or with a cached spare or an odd count, in JS.
   * `alloc` provides the output array (every element is written): a backend's recycled one, say.
   */
  static normalArrays(
    rngs: readonly Rng[], perRng: number, normals?: NormalPairSource, alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
  ): Float32Array {
    const out = alloc(rngs.length * perRng);
    if (normals === undefined || perRng % 2 !== 0 || rngs.some((r) => r.spareNormal !== null)) {
      rngs.forEach((r, g) => out.set(r.normalArray(perRng), g * perRng));
      return out;
    }
    const states = new Uint8Array(rngs.length * ARC4_STATE_BYTES);
    rngs.forEach((r, g) => r.saveArc4(states, g * ARC4_STATE_BYTES));
    const left = normals(states, perRng / 2, out);
    rngs.forEach((r, g) => r.loadArc4(states, g * ARC4_STATE_BYTES));
    for (let h = 0; h < left.length; h += 3) boxMullerPair(left[h + 1] as number, left[h + 2] as number, out, left[h] as number);
    return out;
  }

  private saveArc4(dst: Uint8Array, at: number): void {
    dst.set(this.s, at);
    dst[at + 256] = this.i;
    dst[at + 257] = this.j;
  }

  private loadArc4(src: Uint8Array, at: number): void {
    this.s.set(src.subarray(at, at + 256));
    this.i = src[at + 256] as number;
    this.j = src[at + 257] as number;
  }

  /** Restores a generator from `state()`. */
  static fromState(state: RngState): Rng {
    const { arc4, spareNormal } = state as { arc4: RngState; spareNormal: number | null };
    const rng = new Rng('', arc4);
    rng.spareNormal = spareNormal;
    return rng;
  }

  /** The full state, JSON-serialisable (seedrandom's ARC4 state format). */
  state(): RngState {
    return { arc4: { i: this.i, j: this.j, S: Array.from(this.s) }, spareNormal: this.spareNormal };
  }

  /** Uniform in [0, 1) with 53 bits of randomness: seedrandom's prng.double() on the same stream. */
  uniform(): number {
    let n = 0;
    for (let c = 0; c < 6; c++) n = n * 256 + this.byte();
    let d = TWO_48;
    let x = 0;
    while (n < TWO_52) {
      n = (n + x) * 256;
      d *= 256;
      x = this.byte();
    }
    while (n >= TWO_53) {
      n /= 2;
      d /= 2;
      x >>>= 1;
    }
    return (n + x) / d;
  }

  /** The next RC4 output byte (seedrandom's ARC4.g(1)). */
  private byte(): number {
    const s = this.s;
    const i = (this.i + 1) & 255;
    const t = s[i] as number;
    const j = (this.j + t) & 255;
    const u = s[j] as number;
    s[i] = u;
    s[j] = t;
    this.i = i;
    this.j = j;
    return s[(u + t) & 255] as number;
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
    const u = this.boxMullerU();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fills a new Float32Array of length n with standard normal draws: the same values as n calls of normal(). */
  normalArray(n: number): Float32Array {
    const out = new Float32Array(n);
    let k = 0;
    if (n > 0 && this.spareNormal !== null) out[k++] = this.normal();
    // Whole Box-Muller pairs written straight out (no spare kept between them, which boxed every value).
    for (; k + 1 < n; k += 2) {
      const u = this.boxMullerU();
      boxMullerPair(u, this.uniform(), out, k);
    }
    if (k < n) out[k] = this.normal();
    return out;
  }

  /** The first uniform of a Box-Muller pair: redrawn while <= Number.EPSILON, where log(u) would blow up. */
  private boxMullerU(): number {
    let u = 0;
    while (u <= Number.EPSILON) u = this.uniform();
    return u;
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
