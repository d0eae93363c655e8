/**
 * OpenCV-compatible `cv2.resize` for float images (METHOD §1.4: the BSRGAN resizes draw the interpolation from
 * {1: INTER_LINEAR, 2: INTER_CUBIC, 3: INTER_AREA}). Half-pixel centres and replicated borders as in OpenCV's
 * resize.cpp: linear is 2-tap, cubic is 4-tap Keys with a = -0.75, area averages exact pixel footprints when
 * shrinking and uses OpenCV's special 2-tap table when enlarging. Computed in float64 (OpenCV: float32).
 *
 * Why hand-written: the labels depend on the degradations matching the reference's cv2 calls, and no library we
 * can use reproduces them. tfjs has bilinear and nearest resizes only (no cubic, no area); sharp/libvips has its
 * own kernels and shrink strategy and works on 8/16-bit pixels; OpenCV itself exists for Node only as a native
 * build or a multi-megabyte WASM bundle, a heavy dependency (and a copy in and out per call) for three
 * interpolation modes. These ~100 lines are checked against reference values (test/data/degrade/resize.test.ts:
 * linear and cubic from PyTorch's cv2-equivalent interpolate, area against its definition).
 */
import { type RgbImage, cloneImage } from '../image.js';
import { type TapTable, buildTapTable, resampleSeparable } from './resample.js';

/** The cv2 interpolation modes used by BSRGAN, keyed like cv2's flags (1 linear, 2 cubic, 3 area). */
export type CvInterpolation = 'linear' | 'cubic' | 'area';

/** The three modes in cv2 flag order, for `random.choice([1, 2, 3])`. */
export const CV_INTERPOLATIONS: readonly CvInterpolation[] = ['linear', 'cubic', 'area'];

/** `cv2.resize(img, (width, height), interpolation=mode)` on a float image. Same size returns a copy. */
export function resizeCv(img: RgbImage, width: number, height: number, mode: CvInterpolation): RgbImage {
  if (width < 1 || height < 1) throw new Error(`resize target must be at least 1x1, got ${width}x${height}`);
  if (width === img.width && height === img.height) return cloneImage(img);
  const shrinking = img.width >= width && img.height >= height;
  const tx = axisTable(img.width, width, mode, shrinking);
  const ty = axisTable(img.height, height, mode, shrinking);
  return resampleSeparable(img, tx, ty);
}

function axisTable(src: number, dst: number, mode: CvInterpolation, shrinking: boolean): TapTable {
  const scale = src / dst; // OpenCV: scale_x = 1 / (dsize / ssize)
  if (mode === 'area' && shrinking) return areaTable(src, dst, scale);
  if (mode === 'cubic') return cubicTable(src, dst, scale);
  return linearTable(src, dst, scale, mode === 'area');
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** INTER_LINEAR (and INTER_AREA when enlarging, whose fraction follows OpenCV's `area_mode` formula). */
function linearTable(src: number, dst: number, scale: number, areaMode: boolean): TapTable {
  const invScale = dst / src;
  return buildTapTable(dst, (d) => {
    let sx: number;
    let fx: number;
    if (!areaMode) {
      const f = Math.fround((d + 0.5) * scale - 0.5);
      sx = Math.floor(f);
      fx = f - sx;
    } else {
      sx = Math.floor(d * scale);
      const f = Math.fround(d + 1 - (sx + 1) * invScale);
      fx = f <= 0 ? 0 : f - Math.floor(f);
    }
    if (sx < 0) (sx = 0), (fx = 0);
    if (sx >= src - 1) (sx = src - 1), (fx = 0);
    return [
      [sx, 1 - fx],
      [clampIndex(sx + 1, src), fx],
    ];
  });
}

/** INTER_CUBIC: Keys cubic with a = -0.75 at taps sx-1 .. sx+2, borders replicated. */
function cubicTable(src: number, dst: number, scale: number): TapTable {
  const A = -0.75;
  return buildTapTable(dst, (d) => {
    const f = Math.fround((d + 0.5) * scale - 0.5);
    const sx = Math.floor(f);
    const x = f - sx;
    const c0 = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    const c1 = ((A + 2) * x - (A + 3)) * x * x + 1;
    const c2 = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    const c3 = 1 - c0 - c1 - c2;
    return [
      [clampIndex(sx - 1, src), c0],
      [clampIndex(sx, src), c1],
      [clampIndex(sx + 1, src), c2],
      [clampIndex(sx + 2, src), c3],
    ];
  });
}

/** INTER_AREA when shrinking: each output averages its footprint [d·scale, (d+1)·scale), partial pixels weighted. */
function areaTable(src: number, dst: number, scale: number): TapTable {
  return buildTapTable(dst, (d) => {
    const f1 = d * scale;
    const f2 = f1 + scale;
    const cell = Math.min(scale, src - f1);
    const s2 = Math.min(Math.floor(f2), src - 1);
    const s1 = Math.min(Math.ceil(f1), s2);
    const taps: [number, number][] = [];
    if (s1 - f1 > 1e-3) taps.push([s1 - 1, (s1 - f1) / cell]);
    for (let s = s1; s < s2; s++) taps.push([s, 1 / cell]);
    if (f2 - s2 > 1e-3) taps.push([s2, Math.min(Math.min(f2 - s2, 1), cell) / cell]);
    return taps;
  });
}
