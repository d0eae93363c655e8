/**
 * Index tables for nearest-neighbour resize, computed with tfjs cpu's own formulas, so the native forward kernel
 * reproduces tfjs for every alignCorners/halfPixelCenters combination and the gradient is its exact adjoint.
 */

/** Source index for each of `outSize` output positions (tfjs cpu ResizeNearestNeighbor). */
export function nearestSourceIndices(
  inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean,
): Int32Array {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const table = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
    let src = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    if (halfPixelCenters) src = Math.max(0, src);
    table[i] = src;
  }
  return table;
}

/**
 * The adjoint of nearestSourceIndices: for each of `inSize` input positions, the output positions that copy it,
 * ascending, as CSR (ptr, list). ResizeNearestNeighborGrad sums dy over exactly these. This departs from tfjs cpu's
 * gradient kernel, which offsets dy by the *images* batch stride (wrong for batch > 1 whenever the sizes differ) and
 * searches a window with halfPixelCenters ignored; for batch 1 without halfPixelCenters the two agree bit for bit.
 */
export function nearestAdjoint(sources: Int32Array, inSize: number): { ptr: Int32Array; list: Int32Array } {
  const ptr = new Int32Array(inSize + 1);
  for (const s of sources) ptr[s + 1] = (ptr[s + 1] as number) + 1;
  for (let i = 0; i < inSize; i++) ptr[i + 1] = (ptr[i + 1] as number) + (ptr[i] as number);
  const fill = ptr.slice(0, inSize);
  const list = new Int32Array(sources.length);
  sources.forEach((s, o) => {
    list[fill[s] as number] = o;
    fill[s] = (fill[s] as number) + 1;
  });
  return { ptr, list };
}
