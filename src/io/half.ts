/** Conversions from 16-bit float encodings (IEEE half, bfloat16) to float32 values. */

/** IEEE 754 binary16 bits → number (handles subnormals, infinities and NaN). */
export function halfToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 bits (the top 16 bits of a float32) → number. */
export function bf16ToFloat32(b: number): number {
  scratch.setUint32(0, (b & 0xffff) << 16);
  return scratch.getFloat32(0);
}
