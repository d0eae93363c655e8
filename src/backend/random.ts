/**
 * Normal draws for the labeller's per-image generators on the native addon's threads (native/random_impl.cc): the
 * same numbers as `Rng.normalArray` per generator, bit for bit (src/util/rng.ts).
 */
import { Rng, type NormalPairSource } from '../util/rng.js';
import { loadNativeAddon } from './native-binding.js';

/** The addon's parallel draws, or undefined where it is not built (or predates them): then JS draws. */
function nativeNormals(): NormalPairSource | undefined {
  try {
    const addon = loadNativeAddon();
    return typeof addon.arc4Normals === 'function' ? (states, pairs, out) => addon.arc4Normals(states, pairs, out) : undefined;
  } catch {
    return undefined;
  }
}

/** `perRng` normals from each generator, concatenated: `Rng.normalArrays` with the native draws where available. */
export function parallelNormalArrays(rngs: readonly Rng[], perRng: number): Float32Array {
  return Rng.normalArrays(rngs, perRng, nativeNormals());
}
