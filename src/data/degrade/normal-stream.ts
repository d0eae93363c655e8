/**
 * Bulk standard-normal draws for image noise. A 512x512 RGB noise field needs 786k normals; drawing them from
 * the ARC4-based `Rng` costs ~25 ms, so the `Rng` seeds a small fast generator (sfc32) instead. Determinism is
 * kept: the seed words come from the caller's `Rng`, so the same `Rng` state gives the same noise.
 */
import type { Rng } from '../../util/rng.js';

/** A seeded stream of standard normal numbers. */
export interface NormalStream {
  next(): number;
}

/** Seeds an sfc32 generator from four 32-bit words drawn from `rng`, and returns Box-Muller normals from it. */
export function createNormalStream(rng: Rng): NormalStream {
  let a = rng.int(0, 0xffffffff) | 0;
  let b = rng.int(0, 0xffffffff) | 0;
  let c = rng.int(0, 0xffffffff) | 0;
  let d = rng.int(0, 0xffffffff) | 0;
  const nextU32 = (): number => {
    // sfc32 (Chris Doty-Humphrey's small fast chaotic PRNG), period ≥ 2^32, passes PractRand to large sizes.
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextU32(); // warm-up, as recommended for sfc32
  let spare = 0;
  let hasSpare = false;
  return {
    next(): number {
      if (hasSpare) {
        hasSpare = false;
        return spare;
      }
      const u = (nextU32() + 1) / 4294967297; // in (0, 1): log is finite
      const v = nextU32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      hasSpare = true;
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}
