/**
 * Separable resampling driven by per-axis tap tables: each output index has a list of (source index, weight)
 * pairs. The cv2-style and MATLAB-style resizes differ only in how they build the tables (interpolation kernel,
 * coordinate mapping, border rule), so they share this loop.
 */
import { CHANNELS, type RgbImage, createImage } from '../image.js';

/** Taps of one axis in CSR form: output o uses `index[k]`, `weight[k]` for k in [start[o], start[o+1]). */
export interface TapTable {
  readonly outSize: number;
  readonly start: Int32Array;
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/** Builds a `TapTable` from a function listing the taps of each output index. */
export function buildTapTable(outSize: number, taps: (o: number) => [number, number][]): TapTable {
  const start = new Int32Array(outSize + 1);
  const idx: number[] = [];
  const wts: number[] = [];
  for (let o = 0; o < outSize; o++) {
    for (const [i, w] of taps(o)) {
      idx.push(i);
      wts.push(w);
    }
    start[o + 1] = idx.length;
  }
  return { outSize, start, index: Int32Array.from(idx), weight: Float64Array.from(wts) };
}

/** Resamples rows first (horizontal taps `tx`), then columns (`ty`): `[H,W,3]` -> `[ty.outSize, tx.outSize, 3]`. */
export function resampleSeparable(img: RgbImage, tx: TapTable, ty: TapTable): RgbImage {
  return resampleCols(resampleRows(img, tx), ty);
}

function resampleRows(img: RgbImage, t: TapTable): RgbImage {
  const { width: w, height: h, data } = img;
  const out = createImage(t.outSize, h);
  const dst = out.data;
  for (let y = 0; y < h; y++) {
    const rowIn = y * w * CHANNELS;
    const rowOut = y * t.outSize * CHANNELS;
    for (let o = 0; o < t.outSize; o++) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      for (let k = t.start[o]; k < t.start[o + 1]; k++) {
        const p = rowIn + t.index[k] * CHANNELS;
        const wt = t.weight[k];
        a0 += wt * data[p];
        a1 += wt * data[p + 1];
        a2 += wt * data[p + 2];
      }
      const q = rowOut + o * CHANNELS;
      dst[q] = a0;
      dst[q + 1] = a1;
      dst[q + 2] = a2;
    }
  }
  return out;
}

function resampleCols(img: RgbImage, t: TapTable): RgbImage {
  const { width: w, data } = img;
  const lineLen = w * CHANNELS;
  const out = createImage(w, t.outSize);
  const acc = new Float64Array(lineLen);
  for (let o = 0; o < t.outSize; o++) {
    acc.fill(0);
    for (let k = t.start[o]; k < t.start[o + 1]; k++) {
      const off = t.index[k] * lineLen;
      const wt = t.weight[k];
      for (let q = 0; q < lineLen; q++) acc[q] += wt * data[off + q];
    }
    out.data.set(acc, o * lineLen);
  }
  return out;
}
