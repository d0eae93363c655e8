/**
 * The CFP fiducial fallback alignment (src/fr/fiducials.ts): the similarity fit against an independent float64
 * least-squares solve, the mirroring of faces that look left, and the committed template file. Needs no data.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ARCFACE_AXIS_X, CFP_FIDUCIAL_COUNT, FIT_POINTS, type FiducialTemplate, alignWithFiducials, cfpPoseOf, fiducialPathFor, fitFiducials,
  loadFiducialTemplate, looksRight, mirrorPoints, parseFiducials, rescalePoints,
} from '../../src/fr/fiducials.js';
import { ARCFACE_TEMPLATE_112, applySimilarity, invertSimilarity, type Point, type Similarity } from '../../src/fr/similarity.js';
import { Rng } from '../../src/util/rng.js';

const template = loadFiducialTemplate();

/**
 * Independent least squares: minimise sum |T(src_i) - dst_i|^2 over (a, b, tx, ty) by the 4x4 normal equations
 * and Gaussian elimination with partial pivoting, in float64 (no centring, no closed form).
 */
function leastSquaresSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  const A = Array.from({ length: 4 }, () => new Array<number>(5).fill(0));
  const add = (row: number[], rhs: number): void => {
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) (A[i] as number[])[j] = ((A[i] as number[])[j] as number) + (row[i] as number) * (row[j] as number);
      (A[i] as number[])[4] = ((A[i] as number[])[4] as number) + (row[i] as number) * rhs;
    }
  };
  src.forEach(([x, y], k) => {
    const [u, v] = dst[k] as Point;
    add([x, -y, 1, 0], u); // u = a x - b y + tx
    add([y, x, 0, 1], v); // v = b x + a y + ty
  });
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs((A[r] as number[])[c] as number) > Math.abs((A[p] as number[])[c] as number)) p = r;
    [A[c], A[p]] = [A[p] as number[], A[c] as number[]];
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = ((A[r] as number[])[c] as number) / ((A[c] as number[])[c] as number);
      for (let j = c; j < 5; j++) (A[r] as number[])[j] = ((A[r] as number[])[j] as number) - f * ((A[c] as number[])[j] as number);
    }
  }
  const x = A.map((row, i) => (row[4] as number) / (row[i] as number));
  return { a: x[0] as number, b: x[1] as number, tx: x[2] as number, ty: x[3] as number };
}

/** A face "photographed" by the inverse of `t`: points that `t` maps exactly onto `targets`. */
function photographed(targets: readonly Point[], t: Similarity): Point[] {
  const inv = invertSimilarity(t);
  return targets.map((p) => applySimilarity(inv, p) as Point);
}

const close = (s: Similarity, t: Similarity, tol: number): void => {
  for (const k of ['a', 'b', 'tx', 'ty'] as const) expect(Math.abs(s[k] - t[k])).toBeLessThan(tol);
};

describe('fiducial template file', () => {
  it('holds 30 finite points per pose inside the 112 frame margin, and the ArcFace axis', () => {
    for (const pose of ['frontal', 'profile'] as const) {
      expect(template[pose]).toHaveLength(CFP_FIDUCIAL_COUNT);
      for (const [x, y] of template[pose]) {
        expect(Number.isFinite(x) && Number.isFinite(y)).toBe(true);
        // Profile jaw points reach past the left edge (the ear side); nothing is wildly off.
        expect(x).toBeGreaterThan(-60);
        expect(x).toBeLessThan(172);
        expect(y).toBeGreaterThan(0);
        expect(y).toBeLessThan(140);
      }
    }
    expect(template.axisX).toBeCloseTo(ARCFACE_AXIS_X, 6);
  });

  it('is on the canonical side, with the frontal eye, nose tip and mouth corner near the ArcFace points', () => {
    expect(looksRight(template.frontal)).toBe(true);
    expect(looksRight(template.profile)).toBe(true);
    const f = template.frontal;
    const eye = [12, 13, 14, 15, 16, 17].reduce<[number, number]>((s, i) => [s[0] + (f[i] as Point)[0] / 6, s[1] + (f[i] as Point)[1] / 6], [0, 0]);
    const near = (p: Point, q: Point, tol: number): void => expect(Math.hypot(p[0] - q[0], p[1] - q[1])).toBeLessThan(tol);
    near(eye, ARCFACE_TEMPLATE_112[0] as Point, 3); // the annotated eye is the image-left one
    near(f[21] as Point, ARCFACE_TEMPLATE_112[2] as Point, 4); // nose tip
    near(f[25] as Point, ARCFACE_TEMPLATE_112[3] as Point, 3); // mouth corner
  });

  it('rejects a malformed file, naming it and the field', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-fid-'));
    const file = path.join(dir, 't.json');
    fs.writeFileSync(file, JSON.stringify({ axisX: 56, frontal: template.frontal, profile: template.profile.slice(1) }));
    expect(() => loadFiducialTemplate(file)).toThrow(new RegExp(`${file.replace(/[.\\/]/g, '\\$&')}: profile`));
    fs.writeFileSync(file, JSON.stringify({ frontal: template.frontal, profile: template.profile }));
    expect(() => loadFiducialTemplate(file)).toThrow(/axisX/);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('fitFiducials', () => {
  const truth: Similarity = { a: 0.42 * Math.cos(0.3), b: 0.42 * Math.sin(0.3), tx: -17.25, ty: 8.5 };

  it('recovers a known similarity exactly (float64) for a right-looking face', () => {
    for (const pose of ['frontal', 'profile'] as const) {
      const fit = fitFiducials(photographed(template[pose], truth), pose, template);
      expect(fit.mirrored).toBe(false);
      close(fit.transform, truth, 1e-9);
      expect(fit.residual).toBeLessThan(1e-9);
    }
  });

  it('equals an independent normal-equation least-squares solve on noisy points', () => {
    const rng = new Rng(11);
    for (const pose of ['frontal', 'profile'] as const) {
      const pts = photographed(template[pose], truth).map(([x, y]) => [x + rng.normal() * 4, y + rng.normal() * 4] as Point);
      const fit = fitFiducials(pts, pose, template);
      const ref = leastSquaresSimilarity(FIT_POINTS.map((i) => pts[i] as Point), FIT_POINTS.map((i) => template[pose][i] as Point));
      close(fit.transform, ref, 1e-9);
      // And with every point used.
      const all = Array.from({ length: CFP_FIDUCIAL_COUNT }, (_, i) => i);
      close(fitFiducials(pts, pose, template, all).transform, leastSquaresSimilarity(pts, template[pose]), 1e-9);
    }
  });

  it('fits only the inner points by default: moving the jaw changes nothing', () => {
    const pts = photographed(template.frontal, truth);
    const moved = pts.map((p, i) => (i < 9 ? ([p[0] + 30, p[1] - 20] as Point) : p));
    close(fitFiducials(moved, 'frontal', template).transform, fitFiducials(pts, 'frontal', template).transform, 1e-12);
    expect(FIT_POINTS).toEqual(Array.from({ length: 21 }, (_, i) => i + 9));
  });

  it('rejects a wrong point count', () => {
    expect(() => fitFiducials(template.frontal.slice(0, 29), 'frontal', template)).toThrow(/30 points/);
  });
});

describe('mirroring', () => {
  const truth: Similarity = { a: 2.1 * Math.cos(-0.2), b: 2.1 * Math.sin(-0.2), tx: 40, ty: 12 };

  it('mirrorPoints reflects about the axis and is its own inverse', () => {
    const p: Point[] = [[10, 5], [56, 7], [100.5, -3]];
    expect(mirrorPoints(p, 50)).toEqual([[90, 5], [44, 7], [-0.5, -3]]);
    expect(mirrorPoints(mirrorPoints(p, ARCFACE_AXIS_X), ARCFACE_AXIS_X).map(([x, y]) => [Math.round(x * 1e9) / 1e9, y])).toEqual(p);
  });

  it('tells left- from right-looking faces by the points, whatever the pose', () => {
    for (const pose of ['frontal', 'profile'] as const) {
      const right = photographed(template[pose], truth);
      expect(looksRight(right)).toBe(true);
      expect(looksRight(mirrorPoints(right, 300))).toBe(false);
    }
  });

  it('maps a left-looking face onto the mirrored template with a proper similarity, keeping its orientation', () => {
    const imageAxis = 123.5;
    for (const pose of ['profile', 'frontal'] as const) {
      // The mirror image of a right-looking face: the same landmarks, looking left.
      const left = mirrorPoints(photographed(template[pose], truth), imageAxis);
      const fit = fitFiducials(left, pose, template);
      expect(fit.mirrored).toBe(true);
      expect(fit.residual).toBeLessThan(1e-9);
      const mirroredTargets = mirrorPoints(template[pose], template.axisX);
      left.forEach((p, i) => {
        const q = applySimilarity(fit.transform, p);
        expect(Math.abs(q[0] - (mirroredTargets[i] as Point)[0])).toBeLessThan(1e-9);
        expect(Math.abs(q[1] - (mirroredTargets[i] as Point)[1])).toBeLessThan(1e-9);
      });
      // The right-looking fit conjugated by the two reflections: same scale, opposite rotation.
      expect(fit.transform.a).toBeCloseTo(truth.a, 12);
      expect(fit.transform.b).toBeCloseTo(-truth.b, 12);
    }
  });

  it('equals mirroring the photo, fitting the canonical template and mirroring the crop back (noisy points)', () => {
    const rng = new Rng(3);
    const imageAxis = 80;
    const left = mirrorPoints(photographed(template.profile, truth), imageAxis).map(([x, y]) => [x + rng.normal() * 3, y + rng.normal() * 3] as Point);
    const direct = fitFiducials(left, 'profile', template).transform;
    // The long way round: flip the photo's points, fit the canonical targets, flip the 112 frame back.
    const flipped = mirrorPoints(left, imageAxis);
    expect(looksRight(flipped)).toBe(true);
    const canonical = fitFiducials(flipped, 'profile', template).transform;
    for (const p of [[0, 0], [200, 15], [37, 240]] as Point[]) {
      const viaFlip = mirrorPoints([applySimilarity(canonical, mirrorPoints([p], imageAxis)[0] as Point) as Point], template.axisX)[0] as Point;
      const q = applySimilarity(direct, p);
      expect(Math.abs(q[0] - viaFlip[0])).toBeLessThan(1e-9);
      expect(Math.abs(q[1] - viaFlip[1])).toBeLessThan(1e-9);
    }
  });
});

describe('fiducial file helpers', () => {
  const text = Array.from({ length: 30 }, (_, i) => `${i + 0.5},${2 * i}`).join('\r\n');

  it('parses 30 "x,y" lines and names the file on a bad one', () => {
    const pts = parseFiducials(`${text}\n`, 'a.txt');
    expect(pts).toHaveLength(30);
    expect(pts[29]).toEqual([29.5, 58]);
    expect(() => parseFiducials(text.split('\r\n').slice(1).join('\n'), 'Data/Fiducials/001/frontal/01.txt')).toThrow(/Data\/Fiducials\/001\/frontal\/01\.txt: expected 30/);
    expect(() => parseFiducials(text.replace('3.5,6', '3.5;6'), 'b.txt')).toThrow(/b\.txt: line 4/);
  });

  it('maps an image key to its fiducial file and pose', () => {
    expect(fiducialPathFor('/d/cfp', 'Data/Images/042/profile/03.jpg')).toBe(path.join('/d/cfp', 'Data/Fiducials/042/profile/03.txt'));
    expect(cfpPoseOf('Data/Images/042/profile/03.jpg')).toBe('profile');
    expect(cfpPoseOf('Data/Images/042/frontal/10.jpg')).toBe('frontal');
    expect(() => cfpPoseOf('Data/Images/042/side/03.jpg')).toThrow(/not a CFP image key/);
  });

  it('rescales points to a shrunk decode, keeping pixel centres', () => {
    expect(rescalePoints([[10, 20]], { width: 2000, height: 1000 }, { width: 2000, height: 1000 })).toEqual([[10, 20]]);
    const [[x, y]] = rescalePoints([[-0.5, 1999.5]], { width: 2000, height: 2000 }, { width: 1000, height: 1000 }) as [Point];
    expect(x).toBeCloseTo(-0.5, 12); // the image's edges stay its edges
    expect(y).toBeCloseTo(999.5, 12);
  });
});

describe('alignWithFiducials', () => {
  it('warps a 112x112 crop whose pixel at a target holds the photo value at the matching fiducial', () => {
    const t: FiducialTemplate = template;
    const truth: Similarity = { a: 0.5, b: 0, tx: 0, ty: 0 }; // photo is the 112 frame scaled by 2
    const pts = photographed(t.frontal, truth);
    const w = 260, h = 260;
    // A linear ramp: bilinear sampling reproduces it exactly, so the crop value at (u,v) is ramp(T^-1(u,v)).
    const data = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill((x + 2 * y) / 1000, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const { crop, transform } = alignWithFiducials({ width: w, height: h, data }, pts, 'frontal', t);
    expect([crop.width, crop.height, crop.data.length]).toEqual([112, 112, 112 * 112 * 3]);
    close(transform, truth, 1e-9);
    for (const [u, v] of [[20, 30], [56, 56], [100, 90]] as Point[]) {
      expect(crop.data[(v * 112 + u) * 3] as number).toBeCloseTo((2 * u + 4 * v) / 1000, 5);
    }
  });
});
