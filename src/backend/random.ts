/**
 * Normal draws for the labeller's per-image generators on the native addon's threads (native/random_impl.cc): the
 * same numbers as `Rng.normalArray` per generator, bit for bit (src/util/rng.ts).
 */
import { Rng, type NormalPairSource } from '../util/rng.js';
import { NativeBackend } from './native-backend.js';
import { loadNativeAddon } from './native-binding.js';
import { tf } from './tf.js';

/** The addon's parallel draws, or undefined where it is not built (or predates them): then JS draws. */
function nativeNormals(): NormalPairSource | undefined {
  try {
    const addon = loadNativeAddon();
    return typeof addon.arc4Normals === 'function' ? (states, pairs, out) => addon.arc4Normals(states, pairs, out) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `perRng` normals from each generator, concatenated: `Rng.normalArrays` with the native draws where available. On
 * `native` the array comes from the backend's recycling allocator, so a tensor made of it (the labeller's noise,
 * 6 MB a draw for a cpu-small batch) returns it for reuse when disposed instead of page-faulting a fresh one each
 * time; a caller that keeps the array after disposing its tensor must copy it.
 */
export function parallelNormalArrays(rngs: readonly Rng[], perRng: number): Float32Array {
  const backend = tf.getBackend() === 'native' ? tf.backend() : undefined;
  const alloc = backend instanceof NativeBackend ? (n: number) => backend.allocFloat32(n, true) : undefined;
  return Rng.normalArrays(rngs, perRng, nativeNormals(), alloc);
}
