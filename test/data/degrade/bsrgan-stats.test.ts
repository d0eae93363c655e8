/**
 * Statistics of the BSRGAN degradation's random parameters against the reference distributions of METHOD §1.4.
 * The other degradation tests check size, range, determinism and "changed"; these check WHAT is drawn, over many
 * seeded runs, so that a changed JPEG quality range, blur σ / eigenvalue ceiling, downsample factor, halving or
 * JPEG probability, or repeated-auto_degrade probabilities fails a test. Every expected number below is taken
 * from METHOD §1.4, never from src.
 *
 * How the draws are observed without touching src: vi.mock wraps the modules that bsrgan.ts, blur.ts,
 * downsample.ts and jpeg.ts import. The drawing code under test (bsrgan.ts, blur.ts `drawBlurKernel`,
 * downsample.ts, noise.ts, jpeg.ts `addJpegNoise`, kernels.ts) runs unchanged; the wrappers only log the
 * arguments that reach the next layer (kernel parameters, resize targets and modes, JPEG quality) and call
 * through. The pixel-heavy leaves (convolution, cv2/MATLAB resizes, sharp encode/decode/resize) are replaced by
 * "stub images" that carry the right width and height but only one pixel of data, and the noise op runs on a stub
 * of its input (same draws, no pixel loop); stride-sf subsampling of a stub reads NaNs, which nothing looks at.
 * The draws depend on sizes, never on pixel values, so the statistics are those of the real pipeline while a run
 * costs microseconds. The real pixel maths is covered by bsrgan/kernels/resize/jpeg/noise.test.ts.
 * A recording subclass of Rng logs `range` and `chance` results, which the checks tie to their effect (a range
 * draw must equal the σ passed to the kernel, or give the resize target actually requested).
 *
 * Tolerances: probabilities and means within 5 standard errors; integer ranges must hit the reference endpoints
 * exactly; a continuous U[a,b) must stay inside [a,b) and come within (b−a)·20/M of both ends over M draws
 * (P(miss) ≈ e^−20). All seeds are fixed, so the results are reproducible.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RgbImage } from '../../../src/data/image.js';
import type { Kernel2D } from '../../../src/data/degrade/kernels.js';
import type { CvInterpolation } from '../../../src/data/degrade/resize-cv.js';
import type { EncodeOptions } from '../../../src/data/image-io.js';
import type { NoiseKind } from '../../../src/data/degrade/noise.js';
import { degradeBsrgan, degradeChain } from '../../../src/data/degrade/bsrgan.js';
import { Rng } from '../../../src/util/rng.js';

/** One logged event; `k` names it, the other fields depend on it. */
type Ev =
  | { k: 'aniso'; size: number; theta: number; l1: number; l2: number }
  | { k: 'iso'; size: number; sigma: number }
  | { k: 'shift'; sf: number }
  | { k: 'convolve'; size: number }
  | { k: 'resizeCv'; inW: number; inH: number; w: number; h: number; mode: CvInterpolation }
  | { k: 'imresize'; scale: number; antialiasing: boolean }
  | { k: 'encode'; format: string; quality: number | undefined; w: number; h: number }
  | { k: 'resizeImage'; w: number; h: number }
  | { k: 'halve' }
  | { k: 'blur'; sf: number }
  | { k: 'op2'; sf: number; w: number; h: number }
  | { k: 'op3'; sf: number; w: number; h: number }
  | { k: 'noise'; sigma: number; kind: NoiseKind }
  | { k: 'range'; v: number }
  | { k: 'chance'; v: boolean };

const rec = vi.hoisted(() => ({
  log: [] as Ev[],
  /** An image of the given size holding a single pixel of data (see the file comment). */
  stub(width: number, height: number): RgbImage {
    return { width, height, data: new Float32Array(3) };
  },
}));

vi.mock('../../../src/data/degrade/kernels.js', async (importOriginal) => {
  const o = await importOriginal<typeof import('../../../src/data/degrade/kernels.js')>();
  return {
    ...o,
    anisotropicGaussianKernel: (size: number, theta: number, l1: number, l2: number): Kernel2D => {
      rec.log.push({ k: 'aniso', size, theta, l1, l2 });
      return o.anisotropicGaussianKernel(size, theta, l1, l2);
    },
    isotropicGaussianKernel: (size: number, sigma: number): Kernel2D => {
      rec.log.push({ k: 'iso', size, sigma });
      return o.isotropicGaussianKernel(size, sigma);
    },
    shiftKernel: (kernel: Kernel2D, sf: number): Kernel2D => {
      rec.log.push({ k: 'shift', sf });
      return o.shiftKernel(kernel, sf);
    },
  };
});

vi.mock('../../../src/data/degrade/convolve.js', async (importOriginal) => {
  const o = await importOriginal<typeof import('../../../src/data/degrade/convolve.js')>();
  return {
    ...o,
    convolveMirror: (img: RgbImage, kernel: Kernel2D): RgbImage => {
      rec.log.push({ k: 'convolve', size: kernel.size });
      return rec.stub(img.width, img.height);
    },
  };
});

vi.mock('../../../src/data/degrade/resize-cv.js', async (importOriginal) => {
  const o = await importOriginal<typeof import('../../../src/data/degrade/resize-cv.js')>();
  return {
    ...o,
    resizeCv: (img: RgbImage, w: number, h: number, mode: CvInterpolation): RgbImage => {
      rec.log.push({ k: 'resizeCv', inW: img.width, inH: img.height, w, h, mode });
      if (!(w >= 1 && h >= 1)) throw new Error(`bad resize target ${w}x${h}`);
      return rec.stub(w, h);
    },
  };
});

vi.mock('../../../src/data/degrade/imresize.js', async (importOriginal) => {
  const o = await importOriginal<typeof import('../../../src/data/degrade/imresize.js')>();
  return {
    ...o,
    imresizeBicubic: (img: RgbImage, scale: number, antialiasing = true): RgbImage => {
      rec.log.push({ k: 'imresize', scale, antialiasing });
      return rec.stub(Math.ceil(img.width * scale), Math.ceil(img.height * scale));
    },
  };
});

vi.mock('../../../src/data/image-io.js', async (importOriginal) => {
  const o = await importOriginal<typeof import('../../../src/data/image-io.js')>();
  return {
    ...o,
    encodeImage: async (img: RgbImage, options: EncodeOptions): Promise<Buffer> => {
      rec.log.push({ k: 'encode', format: options.format, quality: options.quality, w: img.width, h: img.height });
      return img as unknown as Buffer; // decodeBytes below hands the "bytes" back as the image
    },
    decodeBytes: async (bytes: Buffer): Promise<RgbImage> => bytes as unknown as RgbImage,
    resizeImage: async (_img: RgbImage, w: number, h: number): Promise<RgbImage> => {
      rec.log.push({ k: 'resizeImage', w, h });
      return rec.stub(w, h);
    },
  };
});

// Op-level wrappers around what bsrgan.ts calls (log, then call the real function).
vi.mock('../../../src/data/degrade/downsample.js', async (importOriginal) => {
  const o = await importOriginal<typeof import('../../../src/data/degrade/downsample.js')>();
  return {
    ...o,
    halveRandom: (img: RgbImage, rng: Rng): RgbImage => {
      rec.log.push({ k: 'halve' });
      return o.halveRandom(img, rng);
    },
    downsampleRandom: (img: RgbImage, rng: Rng, sf: number): RgbImage => {
      rec.log.push({ k: 'op2', sf, w: img.width, h: img.height });
      return o.downsampleRandom(img, rng, sf);
    },
    downsampleToTarget: (img: RgbImage, rng: Rng, width: number, height: number, sf: number): RgbImage => {
      rec.log.push({ k: 'op3', sf, w: width, h: height });
      return o.downsampleToTarget(img, rng, width, height, sf);
    },
  };
});

vi.mock('../../../src/data/degrade/blur.js', async (importOriginal) => {
  const o = await importOriginal<typeof import('../../../src/data/degrade/blur.js')>();
  return {
    ...o,
    addBlur: (img: RgbImage, rng: Rng, sf: number): RgbImage => {
      rec.log.push({ k: 'blur', sf });
      return o.addBlur(img, rng, sf);
    },
  };
});

vi.mock('../../../src/data/degrade/noise.js', async (importOriginal) => {
  const o = await importOriginal<typeof import('../../../src/data/degrade/noise.js')>();
  return {
    ...o,
    addGaussianNoise: (img: RgbImage, rng: Rng, minLevel?: number, maxLevel?: number) => {
      // The same draws on a stub of the same size: only the pixel loop is skipped.
      const r = o.addGaussianNoise(rec.stub(img.width, img.height), rng, minLevel, maxLevel);
      rec.log.push({ k: 'noise', sigma: r.sigma, kind: r.kind });
      return r;
    },
  };
});

/** An Rng that logs the results of `range` and `chance` (the draws are the parent's, unchanged). */
class RecordingRng extends Rng {
  override range(lo: number, hi: number): number {
    const v = super.range(lo, hi);
    rec.log.push({ k: 'range', v });
    return v;
  }
  override chance(p: number): boolean {
    const v = super.chance(p);
    rec.log.push({ k: 'chance', v });
    return v;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small statistics helpers.

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** A fraction of `n` trials must lie within 5 standard errors of p. */
function expectProportion(hits: number, n: number, p: number, what: string): void {
  const tol = 5 * Math.sqrt((p * (1 - p)) / n);
  expect(Math.abs(hits / n - p), `${what}: ${hits}/${n} = ${(hits / n).toFixed(4)}, want ${p} ± ${tol.toFixed(4)}`).toBeLessThanOrEqual(tol);
}

/** Draws of U[a, b): all inside [a, b), both ends approached within (b−a)·20/M, mean (a+b)/2 within 5 SE. */
function expectUniform(xs: readonly number[], a: number, b: number, what: string): void {
  const m = xs.length;
  expect(m, `${what}: number of draws`).toBeGreaterThan(500);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const gap = ((b - a) * 20) / m;
  expect(lo, `${what}: min`).toBeGreaterThanOrEqual(a);
  expect(lo, `${what}: min`).toBeLessThan(a + gap);
  expect(hi, `${what}: max`).toBeLessThan(b);
  expect(hi, `${what}: max`).toBeGreaterThan(b - gap);
  const se = (b - a) / Math.sqrt(12 * m);
  expect(Math.abs(mean(xs) - (a + b) / 2), `${what}: mean ${mean(xs)} vs ${(a + b) / 2}`).toBeLessThanOrEqual(5 * se);
}

/** Draws of U{a..b}: integers, min = a and max = b exactly, every value seen, mean and each frequency within 5 SE. */
function expectUniformInt(xs: readonly number[], a: number, b: number, what: string): void {
  const m = xs.length;
  const k = b - a + 1;
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  expect([...counts.keys()].filter((x) => !Number.isInteger(x)), `${what}: non-integers`).toEqual([]);
  expect(Math.min(...counts.keys()), `${what}: min`).toBe(a);
  expect(Math.max(...counts.keys()), `${what}: max`).toBe(b);
  expect(counts.size, `${what}: distinct values`).toBe(k);
  const sd = Math.sqrt((k * k - 1) / 12);
  expect(Math.abs(mean(xs) - (a + b) / 2), `${what}: mean ${mean(xs)} vs ${(a + b) / 2}`).toBeLessThanOrEqual((5 * sd) / Math.sqrt(m));
  for (const [v, c] of counts) expectProportion(c, m, 1 / k, `${what}: frequency of ${v}`);
}

/** Each of the three cv2 modes {linear, cubic, area} with probability 1/3 (METHOD §1.4 "random interpolation"). */
function expectModes(modes: readonly CvInterpolation[], what: string): void {
  for (const mode of ['linear', 'cubic', 'area'] as const) {
    expectProportion(modes.filter((x) => x === mode).length, modes.length, 1 / 3, `${what}: ${mode}`);
  }
  expect(new Set(modes).size, `${what}: only the three cv2 modes`).toBe(3);
}

// ---------------------------------------------------------------------------------------------------------------
// One `degradeBsrgan` run, parsed from the log.

interface BlurDraw {
  sf: number;
  type: 'aniso' | 'iso';
  size: number;
  theta?: number;
  l1?: number;
  l2?: number;
  sigma?: number;
}

interface Op2Draw {
  sf: number;
  branch: 'resize' | 'gaussian';
  factor?: number;
  mode?: CvInterpolation;
  sigma?: number;
  kernelSize?: number;
  shift?: number;
}

interface Run {
  halved: boolean;
  halveMethod?: 'cv2' | 'matlab';
  halveMode?: CvInterpolation;
  blurs: BlurDraw[];
  op2: Op2Draw[];
  op3: { sf: number; w: number; h: number; mode: CvInterpolation }[];
  noise: { sigma: number; kind: NoiseKind }[];
  /** JPEG qualities in the order encoded; the last one is the final pass. */
  jpeg: number[];
  /** Size of the image the final JPEG pass gets. */
  finalSize: [number, number];
}

/** A structural expectation inside the hot parsing loop (cheaper than expect); fails the whole batch. */
function need(ok: boolean, msg: string): void {
  if (!ok) throw new Error(msg);
}

function parseRun(log: readonly Ev[]): Run {
  const run: Run = { halved: false, blurs: [], op2: [], op3: [], noise: [], jpeg: [], finalSize: [0, 0] };
  const next = (i: number, k: Ev['k']): Ev => {
    const e = log[i];
    if (!e || e.k !== k) throw new Error(`event ${i}: expected ${k}, got ${e?.k} in ${log.map((x) => x.k).join(',')}`);
    return e;
  };
  for (let i = 0; i < log.length; i++) {
    const e = log[i]!;
    if (e.k === 'halve') {
      run.halved = true;
      const m = log[i + 1];
      if (m?.k === 'imresize') {
        run.halveMethod = 'matlab';
        need(m.scale === 0.5 && m.antialiasing, `MATLAB halving with scale ${m.scale}, antialiasing ${m.antialiasing}`);
      } else if (m?.k === 'resizeCv') {
        run.halveMethod = 'cv2';
        run.halveMode = m.mode;
        need(m.w === Math.trunc(m.inW / 2) && m.h === Math.trunc(m.inH / 2), `cv2 halving ${m.inW}x${m.inH} -> ${m.w}x${m.h}`);
      } else throw new Error(`halving did neither resize: ${m?.k}`);
    } else if (e.k === 'blur') {
      const kEv = log[i + 1];
      if (kEv?.k === 'aniso') run.blurs.push({ sf: e.sf, type: 'aniso', size: kEv.size, theta: kEv.theta, l1: kEv.l1, l2: kEv.l2 });
      else if (kEv?.k === 'iso') run.blurs.push({ sf: e.sf, type: 'iso', size: kEv.size, sigma: kEv.sigma });
      else throw new Error(`blur drew no kernel: ${kEv?.k}`);
      next(i + 2, 'convolve');
    } else if (e.k === 'op2') {
      const r = next(i + 1, 'range') as Extract<Ev, { k: 'range' }>;
      const after = log[i + 2];
      if (after?.k === 'resizeCv') {
        // The range draw is the factor: the requested size must be trunc(size / factor).
        const want = [Math.max(1, Math.trunc(e.w / r.v)), Math.max(1, Math.trunc(e.h / r.v))];
        need(after.w === want[0] && after.h === want[1], `op2 factor ${r.v} on ${e.w}x${e.h} resized to ${after.w}x${after.h}`);
        run.op2.push({ sf: e.sf, branch: 'resize', factor: r.v, mode: after.mode });
      } else if (after?.k === 'iso') {
        need(after.sigma === r.v, `op2 Gaussian σ ${after.sigma} is not the range draw ${r.v}`);
        const shift = next(i + 3, 'shift') as Extract<Ev, { k: 'shift' }>;
        next(i + 4, 'convolve');
        run.op2.push({ sf: e.sf, branch: 'gaussian', sigma: after.sigma, kernelSize: after.size, shift: shift.sf });
      } else throw new Error(`op2 did neither branch: ${after?.k}`);
    } else if (e.k === 'op3') {
      const r = next(i + 1, 'resizeCv') as Extract<Ev, { k: 'resizeCv' }>;
      run.op3.push({ sf: e.sf, w: r.w, h: r.h, mode: r.mode });
    } else if (e.k === 'noise') {
      run.noise.push({ sigma: e.sigma, kind: e.kind });
    } else if (e.k === 'encode') {
      need(e.format === 'jpeg', `encoded as ${e.format}`);
      run.jpeg.push(e.quality as number);
      run.finalSize = [e.w, e.h];
    }
  }
  return run;
}

// ---------------------------------------------------------------------------------------------------------------

describe('BSRGAN degradation (sf = 4): parameter statistics vs METHOD §1.4', () => {
  // 64x64 stub input: multiple of sf, so mod-crop keeps it; the output is 64/4 = 16 px per side.
  const N = 12_000;
  const IN = 64;
  const runs: Run[] = [];

  beforeAll(async () => {
    const rng = new RecordingRng('bsrgan-stats');
    for (let n = 0; n < N; n++) {
      rec.log.length = 0;
      await degradeBsrgan(rec.stub(IN, IN), rng, 4);
      runs.push(parseRun(rec.log));
    }
  });

  it('halving step: p = 0.25, then 50% cv2 (random mode) / 50% MATLAB bicubic, and sf = 2 for the rest', () => {
    // Catches a changed halving probability (0.25), e.g. 0.2 or 0.5 (SE ≈ 0.004 here).
    const halved = runs.filter((r) => r.halved);
    expectProportion(halved.length, N, 0.25, 'P(halve)');
    expectProportion(halved.filter((r) => r.halveMethod === 'matlab').length, halved.length, 0.5, 'P(MATLAB | halve)');
    expectModes(halved.filter((r) => r.halveMethod === 'cv2').map((r) => r.halveMode!), 'halving cv2 mode');
    // After halving, every op uses sf = 2; without it, sf = 4 (the downsample factor passed by auto_degrade).
    const wrongSf = runs.filter((r) => {
      const sf = r.halved ? 2 : 4;
      return [...r.blurs, ...r.op2, ...r.op3].some((o) => o.sf !== sf);
    });
    expect(wrongSf.length, 'runs whose ops did not use sf = 2 after halving, 4 otherwise').toBe(0);
  });

  it('each run has two blurs, one op2, one op3 and one noise op; total downsampling is sf = 4', () => {
    // Catches a changed overall downsample factor: op3 resizes to (size before op2)/sf, so the final JPEG
    // always sees 64/4 = 16 px, halved or not (32/2 = 16).
    const counts = new Set(runs.map((r) => `${r.blurs.length} ${r.op2.length} ${r.op3.length} ${r.noise.length}`));
    expect([...counts], 'blurs, op2s, op3s, noise ops per run').toEqual(['2 1 1 1']);
    const sizes = new Set(runs.map((r) => `op3 ${r.op3[0]!.w}x${r.op3[0]!.h}, final JPEG ${r.finalSize.join('x')}`));
    expect([...sizes]).toEqual([`op3 ${IN / 4}x${IN / 4}, final JPEG ${IN / 4}x${IN / 4}`]);
    expectModes(runs.map((r) => r.op3[0]!.mode), 'op3 mode');
  });

  it('blur: 50% anisotropic / 50% isotropic, kernel size 2·U{2..11}+3 (7..25)', () => {
    const blurs = runs.flatMap((r) => r.blurs);
    expectProportion(blurs.filter((b) => b.type === 'aniso').length, blurs.length, 0.5, 'P(anisotropic)');
    // Catches a changed kernel-size rule: sizes must be exactly the odd numbers 7..25, k = (size-3)/2 ~ U{2..11}.
    for (const type of ['aniso', 'iso'] as const) {
      const ks = blurs.filter((b) => b.type === type).map((b) => (b.size - 3) / 2);
      expectUniformInt(ks, 2, 11, `${type} kernel (size-3)/2`);
    }
  });

  it('anisotropic blur: eigenvalues l1, l2 ~ U[0, 4+sf), θ ~ U[0, π)', () => {
    // Catches a changed eigenvalue ceiling: the max must come within (20/M)·ceiling of 4+sf and stay below it,
    // separately for sf = 4 (ceiling 8) and sf = 2 after halving (ceiling 6).
    for (const sf of [4, 2]) {
      const an = runs.flatMap((r) => r.blurs).filter((b) => b.type === 'aniso' && b.sf === sf);
      expectUniform([...an.map((b) => b.l1!), ...an.map((b) => b.l2!)], 0, 4 + sf, `eigenvalues, sf=${sf}`);
      expectUniform(an.map((b) => b.theta!), 0, Math.PI, `θ, sf=${sf}`);
    }
  });

  it('isotropic blur: σ ~ U[0, 2+0.2·sf)', () => {
    // Catches a changed σ ceiling: 2.8 for sf = 4, 2.4 for sf = 2.
    for (const sf of [4, 2]) {
      const iso = runs.flatMap((r) => r.blurs).filter((b) => b.type === 'iso' && b.sf === sf);
      expectUniform(iso.map((b) => b.sigma!), 0, 2 + 0.2 * sf, `isotropic σ, sf=${sf}`);
    }
  });

  it('op2: 75% resize by 1/U(1, 2·sf) with a random cv2 mode; 25% shifted 25x25 Gaussian, σ ~ U(0.1, 0.6·sf)', () => {
    const ops = runs.flatMap((r) => r.op2);
    expectProportion(ops.filter((o) => o.branch === 'resize').length, ops.length, 0.75, 'P(op2 resize branch)');
    for (const sf of [4, 2]) {
      const resize = ops.filter((o) => o.branch === 'resize' && o.sf === sf);
      // Catches a changed downsample-factor range: U(1, 8) for sf = 4, U(1, 4) for sf = 2.
      expectUniform(resize.map((o) => o.factor!), 1, 2 * sf, `op2 factor, sf=${sf}`);
      expectModes(resize.map((o) => o.mode!), `op2 mode, sf=${sf}`);
      const gauss = ops.filter((o) => o.branch === 'gaussian' && o.sf === sf);
      expectUniform(gauss.map((o) => o.sigma!), 0.1, 0.6 * sf, `op2 Gaussian σ, sf=${sf}`);
      expect([...new Set(gauss.map((o) => `${o.kernelSize} shift ${o.shift}`))], 'op2 Gaussian size, shift').toEqual([`25 shift ${sf}`]);
    }
  });

  it('noise: level U{2..25}/255; 40% colour, 40% grey, 20% correlated', () => {
    const noise = runs.flatMap((r) => r.noise);
    expectUniformInt(noise.map((x) => Math.round(x.sigma * 255)), 2, 25, 'noise level·255');
    expect(noise.filter((x) => Math.abs(x.sigma * 255 - Math.round(x.sigma * 255)) > 1e-9).length, 'levels off the 1/255 grid').toBe(0);
    expectProportion(noise.filter((x) => x.kind === 'color').length, noise.length, 0.4, 'P(colour noise)');
    expectProportion(noise.filter((x) => x.kind === 'gray').length, noise.length, 0.4, 'P(grey noise)');
    expectProportion(noise.filter((x) => x.kind === 'correlated').length, noise.length, 0.2, 'P(correlated noise)');
  });

  it('JPEG: op5 applied with p = 0.9, final pass always; quality ~ U{30..95} in both', () => {
    // Catches a changed op5 JPEG probability (0.9; SE ≈ 0.003 here): a run has 2 encodes iff op5 fired.
    expect([...new Set(runs.map((r) => r.jpeg.length))].sort(), 'JPEG passes per run').toEqual([1, 2]);
    expectProportion(runs.filter((r) => r.jpeg.length === 2).length, N, 0.9, 'P(op5 JPEG)');
    // Catches a changed quality range: min 30 and max 95 exactly, every value seen, mean 62.5.
    expectUniformInt(runs.map((r) => r.jpeg[r.jpeg.length - 1]!), 30, 95, 'final JPEG quality');
    expectUniformInt(runs.filter((r) => r.jpeg.length === 2).map((r) => r.jpeg[0]!), 30, 95, 'op5 JPEG quality');
  });
});

describe('LQ chain: auto_degrade with p = 1, 0.2, 0.01 (METHOD §1.4)', () => {
  const N = 6_000;
  interface Chain {
    /** Number of auto_degrade applications. */
    applied: number;
    /** Top-level coins (outside any auto_degrade) drawn after the first application, in order. */
    coins: boolean[];
    /** Whether every application after the first came straight after a chain coin that came up true. */
    repeatsFollowCoin: boolean;
    /** op3 targets inside each application: 512/sf = 128. */
    op3: [number, number][];
    /** sf seen by the blurs of applications that did not halve. */
    unhalvedBlurSf: number[];
    out: [number, number];
  }
  const chains: Chain[] = [];

  beforeAll(async () => {
    const rng = new RecordingRng('chain-stats');
    for (let n = 0; n < N; n++) {
      rec.log.length = 0;
      const out = await degradeChain(rec.stub(100, 80), rng, 112, 112);
      // Each auto_degrade starts with the cv2 bilinear resize to 512x512 and ends with its final JPEG pass; the
      // chain's own coins are the chance draws after that last encode (nothing inside BSRGAN draws after it).
      const c: Chain = { applied: 0, coins: [], repeatsFollowCoin: true, op3: [], unhalvedBlurSf: [], out: [out.width, out.height] };
      const starts = rec.log.flatMap((e, i) => (e.k === 'resizeCv' && e.w === 512 && e.h === 512 && e.mode === 'linear' ? [i] : []));
      c.applied = starts.length;
      for (let s = 0; s < starts.length; s++) {
        const seg = rec.log.slice(starts[s], starts[s + 1] ?? rec.log.length);
        let lastEncode = -1;
        seg.forEach((e, i) => {
          if (e.k === 'encode') lastEncode = i;
        });
        for (const e of seg.slice(lastEncode + 1)) if (e.k === 'chance') c.coins.push(e.v);
        // A repeat must come straight after a coin that came up true.
        const prev = rec.log[starts[s]! - 1];
        if (s > 0 && !(prev?.k === 'chance' && prev.v)) c.repeatsFollowCoin = false;
        const halved = seg.some((e) => e.k === 'halve');
        seg.forEach((e, i) => {
          if (e.k === 'op3') {
            const r = seg[i + 1];
            if (r?.k === 'resizeCv') c.op3.push([r.w, r.h]);
          } else if (e.k === 'blur' && !halved) c.unhalvedBlurSf.push(e.sf);
        });
      }
      chains.push(c);
    }
  });

  it('the first auto_degrade always runs, then two coins with p = 0.2 and p = 0.01 decide the repeats', () => {
    // Catches changed repeat probabilities [1, 0.2, 0.01]: an always-on first pass, then coin 2 at 0.2
    // (SE ≈ 0.005) and coin 3 at 0.01 (SE ≈ 0.0013), each followed by an application exactly when it came up.
    const bad = chains.filter(
      (c) =>
        c.applied < 1 || c.coins.length !== 2 || c.applied !== 1 + c.coins.filter(Boolean).length || !c.repeatsFollowCoin,
    );
    expect(bad.slice(0, 3), 'chains not shaped "always once, then coin → repeat, coin → repeat"').toEqual([]);
    expectProportion(chains.filter((c) => c.coins[0]).length, N, 0.2, 'P(second auto_degrade)');
    expectProportion(chains.filter((c) => c.coins[1]).length, N, 0.01, 'P(third auto_degrade)');
    expect(chains.some((c) => c.applied === 3)).toBe(true);
  });

  it('auto_degrade runs BSRGAN with sf = 4 on 512x512 (op3 target 128), and the chain ends at the training size', () => {
    // Catches a changed downsample factor in auto_degrade: 512/4 = 128, and unhalved blurs see sf = 4.
    expect(chains.reduce((n, c) => n + c.op3.length, 0)).toBe(chains.reduce((n, c) => n + c.applied, 0));
    expect([...new Set(chains.flatMap((c) => c.op3.map((t) => t.join('x'))))], 'op3 targets').toEqual(['128x128']);
    expect([...new Set(chains.flatMap((c) => c.unhalvedBlurSf))], 'sf of blurs in unhalved runs').toEqual([4]);
    expect([...new Set(chains.map((c) => c.out.join('x')))], 'chain output size').toEqual(['112x112']);
  });
});
