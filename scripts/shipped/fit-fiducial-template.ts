/**
 * Learns where CFP's 30 hand-checked fiducials land in the ArcFace 112x112 frame (src/fr/fiducials.ts), from the
 * photos that prepare-faces.ts aligned with the detector, and checks the fiducial fit against the detector's.
 *
 *   node --import tsx scripts/shipped/fit-fiducial-template.ts [--records runs/shipped/faces/cfp-align.jsonl]
 *     [--shared ../shared/data] [--template-out configs/fr/cfp-fiducial-template.json]
 *     [--report runs/fiducial-template/report.json] [--cos-sample 200] [--fr mobileface] [--axis arcface|fit] [--use 9,10,...]
 *
 * Template: each 'ok' photo's fiducials go through its record's transform (photo -> 112 frame, the convention of
 * warpSimilarity); faces looking left are mirrored about the frame's axis; the per-coordinate median per pose is
 * the target. Check: the template is also learned on half the identities and tested on the other half (both
 * ways), so the displacement numbers are not in-sample; then crops of a sample are embedded with `--fr`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeBackend, initBackend } from '../../src/backend/index.js';
import type { RgbImage } from '../../src/data/image.js';
import { embedBatch } from '../../src/fr/embed.js';
import {
  ARCFACE_AXIS_X, CFP_POSES, FIT_POINTS, type CfpPose, type FiducialTemplate, fitFiducials, loadCfpFace, looksRight, medianPoints, mirrorPoints,
} from '../../src/fr/fiducials.js';
import { loadFrModel } from '../../src/fr/registry.js';
import { applySimilarity, type Point, type Similarity } from '../../src/fr/similarity.js';
import { warpSimilarity } from '../../src/fr/warp.js';
import { cfpIdentity } from '../../src/experiment/training-split.js';
import { writeFileAtomic } from '../../src/util/atomic.js';
import { Progress } from '../../src/util/progress.js';
import { arg } from '../../bench/args.js';

const records = path.resolve(arg('records', 'runs/shipped/faces/cfp-align.jsonl'));
const shared = path.resolve(arg('shared', path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data')));
const cfpRoot = path.join(shared, 'cfp');
const templateOut = path.resolve(arg('template-out', 'configs/fr/cfp-fiducial-template.json'));
const reportOut = path.resolve(arg('report', 'runs/fiducial-template/report.json'));
const cosSample = Number(arg('cos-sample', '200'));
const frName = arg('fr', 'mobileface');
// Mirror axis: 'arcface' (the 5-point template's own, x ~ 56.03) or 'fit' (from the detector's profiles).
const axisMode = arg('axis', 'arcface');
// Experiment hook: fit on other fiducials (comma-separated indices); default FIT_POINTS (9-29).
const FIT_USE = arg('use', '') ? arg('use', '').split(',').map(Number) : FIT_POINTS;
if (!['arcface', 'fit'].includes(axisMode)) throw new Error(`--axis must be arcface or fit, not '${axisMode}'`);

/** One detector-aligned photo, its fiducials in decoded pixels and in the 112 frame (canonical side). */
interface Sample {
  key: string;
  pose: CfpPose;
  right: boolean;
  points: Point[];
  landmarks5: Point[];
  det: Similarity;
  /** The fiducials mapped by the detector's transform, as the face looks. */
  mapped: Point[];
}

/** The last 'ok' record per key (a later record for a key supersedes an earlier one). */
function okRecords(file: string): Map<string, { transform: Similarity; landmarks5: Point[] }> {
  const last = new Map<string, { status: string; transform?: Similarity; landmarks5?: Point[] }>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) if (line.trim()) {
    const r = JSON.parse(line) as { key: string; status: string; transform?: Similarity; landmarks5?: Point[] };
    last.set(r.key, r);
  }
  const ok = new Map<string, { transform: Similarity; landmarks5: Point[] }>();
  for (const [k, r] of last) if (r.status === 'ok' && r.transform && r.landmarks5 && !('method' in r)) ok.set(k, { transform: r.transform, landmarks5: r.landmarks5 });
  return ok;
}

async function loadSamples(): Promise<Sample[]> {
  const ok = okRecords(records);
  const bar = new Progress('fiducials', ok.size, { unit: 'img' });
  const out: Sample[] = [];
  for (const [key, r] of ok) {
    bar.tick();
    const { points, pose } = await loadCfpFace(cfpRoot, key);
    const right = looksRight(points);
    const mapped = points.map((p) => applySimilarity(r.transform, p) as Point);
    out.push({ key, pose, right, points, landmarks5: r.landmarks5, det: r.transform, mapped });
  }
  bar.done();
  return out;
}

/** Per-pose medians of the mapped fiducials, left-looking faces mirrored about `axisX` first. */
function learn(samples: readonly Sample[], axisX: number): FiducialTemplate {
  const canonical = (s: Sample): Point[] => (s.right ? s.mapped : mirrorPoints(s.mapped, axisX));
  const per = (pose: CfpPose): Point[] => medianPoints(samples.filter((s) => s.pose === pose).map(canonical));
  return { frontal: per('frontal'), profile: per('profile'), axisX };
}

const dist = (p: Point, q: Point): number => Math.hypot(p[0] - q[0], p[1] - q[1]);

/** Detector-vs-fiducial disagreement of one photo, in 112-frame pixels. */
function compare(s: Sample, template: FiducialTemplate): { d30: number; d5: number; scale: number; rotDeg: number; residual: number } {
  const fit = fitFiducials(s.points, s.pose, template, FIT_USE);
  const t = fit.transform;
  const mean = (ps: readonly Point[]): number => ps.reduce((a, p) => a + dist(applySimilarity(s.det, p), applySimilarity(t, p)), 0) / ps.length;
  return {
    d30: mean(s.points),
    d5: mean(s.landmarks5),
    scale: Math.hypot(t.a, t.b) / Math.hypot(s.det.a, s.det.b),
    rotDeg: ((Math.atan2(t.b, t.a) - Math.atan2(s.det.b, s.det.a)) * 180) / Math.PI,
    residual: fit.residual,
  };
}

function quantiles(xs: readonly number[]): Record<string, number> {
  const s = [...xs].sort((a, b) => a - b);
  const q = (f: number): number => s[Math.min(s.length - 1, Math.floor(f * s.length))] as number;
  const r = (v: number): number => Math.round(v * 1000) / 1000;
  return { n: s.length, mean: r(s.reduce((a, b) => a + b, 0) / s.length), p10: r(q(0.1)), median: r(q(0.5)), p90: r(q(0.9)), max: r(s[s.length - 1] as number) };
}

function summarise(rows: readonly { group: string; c: ReturnType<typeof compare> }[]): Record<string, unknown> {
  const groups = [...new Set(rows.map((r) => r.group))].sort();
  return Object.fromEntries(groups.map((g) => {
    const c = rows.filter((r) => r.group === g).map((r) => r.c);
    return [g, {
      d5: quantiles(c.map((x) => x.d5)), d30: quantiles(c.map((x) => x.d30)), scaleRatio: quantiles(c.map((x) => x.scale)),
      rotDeg: quantiles(c.map((x) => x.rotDeg)), fidResidual: quantiles(c.map((x) => x.residual)),
      d5Under3px: Math.round((c.filter((x) => x.d5 < 3).length / c.length) * 1000) / 1000,
    }];
  }));
}

const group = (s: Sample): string => (s.pose === 'frontal' ? 'frontal' : `profile-${s.right ? 'right' : 'left'}`);

/** Learns on identities of one parity, tests on the other, both ways: held-out numbers. */
function crossCheck(samples: readonly Sample[]): Record<string, unknown> {
  const odd = (s: Sample): boolean => Number(cfpIdentity(s.key)) % 2 === 1;
  const rows: { group: string; c: ReturnType<typeof compare> }[] = [];
  for (const trainOdd of [true, false]) {
    const train = samples.filter((s) => odd(s) === trainOdd);
    const t = learn(train, axisFor(train));
    for (const s of samples.filter((x) => odd(x) !== trainOdd)) rows.push({ group: group(s), c: compare(s, t) });
  }
  return summarise(rows);
}

/**
 * x of the axis that best maps the detector's right-looking onto its left-looking profiles in the 112 frame: the
 * median over points of the midpoint of the two sides' median x.
 */
function empiricalAxis(samples: readonly Sample[]): number {
  const prof = samples.filter((s) => s.pose === 'profile');
  const side = (right: boolean): Point[] => medianPoints(prof.filter((s) => s.right === right).map((s) => s.mapped));
  const r = side(true), l = side(false);
  const mids = r.map((p, i) => (p[0] + (l[i] as Point)[0]) / 2).sort((a, b) => a - b);
  return mids[mids.length >> 1] as number;
}

function axisFor(samples: readonly Sample[]): number {
  return axisMode === 'fit' ? empiricalAxis(samples) : ARCFACE_AXIS_X;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += (a[i] as number) * (b[i] as number); na += (a[i] as number) ** 2; nb += (b[i] as number) ** 2; }
  return d / Math.sqrt(na * nb);
}

/**
 * Embeds, for an evenly spread sample per pose, the detector crop and the fiducial crop of the same photo (cos =
 * how alike FR finds them; for scale, the detector crop against itself moved 1.5 px, the frontal median
 * disagreement), and another frontal of the same person, aligned both ways (mated scores: does the fiducial
 * crop serve recognition as well as the detector's? det-det and fid-fid pairs share one method's biases).
 */
async function cosineCheck(samples: readonly Sample[], template: FiducialTemplate): Promise<Record<string, unknown>> {
  const fr = await loadFrModel(frName);
  const frontalsOf = new Map<string, Sample[]>();
  for (const s of samples) if (s.pose === 'frontal') frontalsOf.set(cfpIdentity(s.key), [...(frontalsOf.get(cfpIdentity(s.key)) ?? []), s]);
  const out: Record<string, unknown> = {};
  try {
    for (const pose of CFP_POSES) {
      const all = samples.filter((s) => s.pose === pose);
      const step = Math.max(1, Math.floor(all.length / cosSample));
      const pick = all.filter((_, i) => i % step === 0).slice(0, cosSample);
      const same: number[] = [], shifted: number[] = [], matedDet: number[] = [], matedFid: number[] = [], matedFidFid: number[] = [];
      const bar = new Progress(`cos ${pose}`, pick.length, { unit: 'img' });
      for (const s of pick) {
        bar.tick();
        const mate = (frontalsOf.get(cfpIdentity(s.key)) ?? []).find((m) => m.key !== s.key);
        const { img, points } = await loadCfpFace(cfpRoot, s.key);
        const moved = { ...s.det, tx: s.det.tx + 1.5 * Math.SQRT1_2, ty: s.det.ty + 1.5 * Math.SQRT1_2 };
        const crops: RgbImage[] = [warpSimilarity(img, s.det), warpSimilarity(img, fitFiducials(points, pose, template, FIT_USE).transform), warpSimilarity(img, moved)];
        if (mate) {
          const m = await loadCfpFace(cfpRoot, mate.key);
          crops.push(warpSimilarity(m.img, mate.det), warpSimilarity(m.img, fitFiducials(m.points, 'frontal', template, FIT_USE).transform));
        }
        const data = new Float32Array(crops.length * 112 * 112 * 3);
        crops.forEach((c, i) => data.set(c.data, i * 112 * 112 * 3));
        const e = embedBatch(fr, data, crops.length);
        const [det, fid, mov, mDet, mFid] = e as [Float32Array, Float32Array, Float32Array, Float32Array?, Float32Array?];
        same.push(cosine(det, fid));
        shifted.push(cosine(det, mov));
        if (mDet && mFid) {
          matedDet.push(cosine(det, mDet));
          matedFid.push(cosine(fid, mDet));
          matedFidFid.push(cosine(fid, mFid));
        }
      }
      bar.done();
      out[pose] = {
        detVsFid: quantiles(same), detVsDetMoved1p5px: quantiles(shifted),
        mated_detDet: quantiles(matedDet), mated_fidDet: quantiles(matedFid), mated_fidFid: quantiles(matedFidFid),
      };
    }
  } finally {
    fr.dispose();
  }
  return out;
}

function templateJson(t: FiducialTemplate, samples: readonly Sample[]): string {
  const count = (pose: CfpPose): number => samples.filter((s) => s.pose === pose).length;
  const r = (ps: Point[]): number[][] => ps.map(([x, y]) => [Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4]);
  return `${JSON.stringify({
    comment: [
      'Targets of the 30 CFP fiducials (Data/Fiducials/<id>/<pose>/NN.txt, point order as in the file) in the ArcFace 112x112 frame, for faces',
      'whose midline points lie right of the lateral ones (src/fr/fiducials.ts looksRight); faces looking left use these mirrored about axisX.',
      'Made by scripts/shipped/fit-fiducial-template.ts: per-coordinate median, per pose, of the fiducials of the CFP folds 1-5 photos that the',
      'detector aligned (runs/shipped/faces/cfp-align.jsonl status ok), mapped through each record\'s photo->template similarity. Derived data only.',
    ],
    axisX: Math.round(t.axisX * 1e6) / 1e6,
    learnedFrom: { frontal: count('frontal'), profile: count('profile') },
    frontal: r(t.frontal),
    profile: r(t.profile),
  }, (_k, v) => (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' ? JSON.stringify(v) : v), 2).replace(/"(\[[^"]*\])"/g, '$1')}\n`;
}

await initBackend();
process.stderr.write(`${describeBackend()}\n`);
const samples = await loadSamples();
const heldOut = crossCheck(samples);
const template = learn(samples, axisFor(samples));
writeFileAtomic(templateOut, templateJson(template, samples));
const inSample = summarise(samples.map((s) => ({ group: group(s), c: compare(s, template) })));
const report = {
  records, learnedFrom: samples.length, axisMode, axisX: template.axisX, arcfaceAxisX: ARCFACE_AXIS_X, empiricalProfileAxisX: empiricalAxis(samples),
  heldOut, inSample, cosine: cosSample > 0 ? await cosineCheck(samples, template) : null,
};
writeFileAtomic(reportOut, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.stderr.write(`fit-fiducial-template: ${samples.length} photos -> ${templateOut}; report ${reportOut}\n`);
