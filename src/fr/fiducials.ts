/**
 * Alignment from CFP's hand-checked fiducials, the fallback for photos the detector misses (mostly profiles).
 * CFP annotates HALF a face with 30 points (Data/Fiducials/<id>/<pose>/NN.txt, one "x,y" line each):
 *   0-8 jaw from the ear down to the chin, 9-11 eyebrow, 12-17 ring around one eye, 18-24 nose (18-21 the
 *   bridge down to the tip, 22-24 its base back towards the cheek), 25 mouth corner, 26-29 lip midline.
 * Frontals are always annotated on the image-left half; profiles on the visible side, facing either way.
 *
 * The 30-point targets in the ArcFace 112x112 frame (configs/fr/cfp-fiducial-template.json) were learned from
 * the detector's own alignments (scripts/shipped/fit-fiducial-template.ts), one per pose, for faces whose
 * midline points lie to the right of the lateral ones ("canonical"). A face that looks the other way is fitted
 * to the template mirrored about the template's vertical axis: that equals mirroring the photo, fitting the
 * canonical template and mirroring the crop back (the two reflections cancel into one proper similarity), so
 * the crop keeps the face's real orientation, as the detector's crops do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../data/image.js';
import { decodeImage } from '../data/image-io.js';
import { packageRoot } from '../models/shipped.js';
import { ConfigError, DataError } from '../util/errors.js';
import { estimateSimilarity, similarityResidual, type Point, type Similarity } from './similarity.js';
import { warpSimilarity } from './warp.js';

/** Points per CFP fiducial file. */
export const CFP_FIDUCIAL_COUNT = 30;

/** The two CFP poses, as the folder names spell them. */
export const CFP_POSES = ['frontal', 'profile'] as const;
export type CfpPose = (typeof CFP_POSES)[number];

/** Points on the face's midline (nose bridge and tip, lip centre): ahead of the lateral ones in the look direction. */
const MIDLINE = [18, 19, 20, 21, 26, 27, 28, 29];
/** Points at the side of the face (upper jaw towards the ear, the eye ring, the mouth corner). */
const LATERAL = [0, 1, 2, 3, 4, 12, 13, 14, 15, 16, 17, 25];

/** Per-pose 30-point targets in the 112x112 frame (canonical side) and the frame's mirror axis. */
export interface FiducialTemplate {
  frontal: Point[];
  profile: Point[];
  /** x of the vertical line the targets are mirrored about for faces looking the other way. */
  axisX: number;
}

/** The committed template file, found from the package root (resolved at call time: no fs work on import). */
export function defaultFiducialTemplatePath(): string {
  return path.join(packageRoot(), 'configs', 'fr', 'cfp-fiducial-template.json');
}

/**
 * Mirror axis of the ArcFace frame: the mean x of its 5 points (eye and mouth pairs and the nose tip are
 * symmetric about x ~ 56.03, not about the pixel centre 55.5).
 */
export const ARCFACE_AXIS_X = (38.2946 + 73.5318 + 56.0252 + 41.5493 + 70.7299) / 5;

/**
 * Parses a fiducial file's text: exactly 30 "x,y" lines (blank lines and CRLF tolerated).
 * @throws DataError naming `file` for a wrong count or a non-numeric value
 */
export function parseFiducials(text: string, file: string): Point[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length !== CFP_FIDUCIAL_COUNT) throw new DataError(file, `expected ${CFP_FIDUCIAL_COUNT} "x,y" lines, found ${lines.length}`);
  return lines.map((line, i) => {
    const xy = line.split(',').map((v) => Number(v.trim()));
    if (xy.length !== 2 || !xy.every(Number.isFinite)) throw new DataError(file, `line ${i + 1} is not "x,y": '${line}'`);
    return [xy[0] as number, xy[1] as number] as Point;
  });
}

/** Reads and parses one fiducial file. @throws DataError naming the file */
export function readFiducials(file: string): Point[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DataError(file, `cannot read fiducials: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseFiducials(text, file);
}

/** The fiducial file of a CFP image key `Data/Images/<id>/<pose>/NN.jpg`, under `cfpRoot`. */
export function fiducialPathFor(cfpRoot: string, key: string): string {
  return path.join(cfpRoot, key.replace(/^Data\/Images\//, 'Data/Fiducials/').replace(/\.[^./]+$/, '.txt'));
}

/** The pose folder of a CFP image key. @throws DataError for a key outside frontal/ or profile/ */
export function cfpPoseOf(key: string): CfpPose {
  const m = /\/(frontal|profile)\/[^/]+$/.exec(key);
  if (!m) throw new DataError(key, 'not a CFP image key (.../frontal/NN.jpg or .../profile/NN.jpg)');
  return m[1] as CfpPose;
}

function meanX(points: readonly Point[], idx: readonly number[]): number {
  return idx.reduce((s, i) => s + (points[i] as Point)[0], 0) / idx.length;
}

/**
 * True when the annotated half looks to +x (midline right of the lateral points): the canonical side, which
 * every CFP frontal and about half the profiles are on. Decided from the points, not the pose, because
 * profiles face either way.
 */
export function looksRight(points: readonly Point[]): boolean {
  return meanX(points, MIDLINE) >= meanX(points, LATERAL);
}

/** Reflects points about the vertical line x = axisX (same order: point i stays landmark i). */
export function mirrorPoints(points: readonly Point[], axisX: number): Point[] {
  return points.map(([x, y]) => [2 * axisX - x, y] as Point);
}

/** The targets for a face of `pose` that looks right (canonical) or left (mirrored template). */
export function fiducialTargets(template: FiducialTemplate, pose: CfpPose, right: boolean): Point[] {
  const t = template[pose];
  return right ? t : mirrorPoints(t, template.axisX);
}

/**
 * The fiducials the similarity is fitted to: eyebrow, eye, nose and mouth (9-29). The jaw contour (0-8) follows
 * face width and head turn more than the inner features do, and the detector's 5 points never see it; leaving
 * it out brought the fit closer to the detector's on held-out identities (scripts/shipped/fit-fiducial-template.ts).
 */
export const FIT_POINTS: readonly number[] = Array.from({ length: CFP_FIDUCIAL_COUNT - 9 }, (_, i) => i + 9);

/** The least-squares fit of a face's fiducials to its pose's template. */
export interface FiducialFit {
  transform: Similarity;
  /** True when the face looks left and was fitted to the mirrored template. */
  mirrored: boolean;
  /** RMS distance (112-px template units) between the mapped fiducials and their targets. */
  residual: number;
}

/** Fits the similarity (photo -> 112x112 frame, the convention of `warpSimilarity`) for `points` of `pose`. */
export function fitFiducials(points: readonly Point[], pose: CfpPose, template: FiducialTemplate, use: readonly number[] = FIT_POINTS): FiducialFit {
  if (points.length !== CFP_FIDUCIAL_COUNT) throw new DataError(`${pose} fiducials`, `expected ${CFP_FIDUCIAL_COUNT} points, got ${points.length}`);
  const right = looksRight(points);
  const targets = fiducialTargets(template, pose, right);
  const src = use.map((i) => points[i] as Point);
  const dst = use.map((i) => targets[i] as Point);
  const transform = estimateSimilarity(src, dst);
  return { transform, mirrored: !right, residual: similarityResidual(transform, src, dst) };
}

/** Aligns `img` from its fiducials (in `img`'s pixel coordinates): the 112x112 crop and the fit. */
export function alignWithFiducials(img: RgbImage, points: readonly Point[], pose: CfpPose, template: FiducialTemplate): FiducialFit & { crop: RgbImage } {
  const fit = fitFiducials(points, pose, template);
  return { ...fit, crop: warpSimilarity(img, fit.transform, 112) };
}

/** Scales points of a photo stored at `from` pixels to the size it was decoded at (`to`), pixel centres kept. */
export function rescalePoints(points: readonly Point[], from: { width: number; height: number }, to: { width: number; height: number }): Point[] {
  if (from.width === to.width && from.height === to.height) return points.slice();
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  return points.map(([x, y]) => [(x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5] as Point);
}

/**
 * Decodes the CFP image `key` as the detector pass did (native size, shrunk to `maxSide`) and reads its
 * fiducials, rescaled to the decoded pixels (31 CFP photos are larger than 1024 px).
 */
export async function loadCfpFace(cfpRoot: string, key: string, maxSide = 1024): Promise<{ img: RgbImage; points: Point[]; pose: CfpPose }> {
  const file = path.join(cfpRoot, key);
  const pose = cfpPoseOf(key);
  const points = readFiducials(fiducialPathFor(cfpRoot, key));
  const img = await decodeImage(file, { size: 'native', maxSide });
  // CFP has no EXIF rotation, so the stored size is the annotated frame.
  const meta = await sharp(file).metadata();
  if (!meta.width || !meta.height) throw new DataError(file, 'image has no width/height');
  return { img, points: rescalePoints(points, { width: meta.width, height: meta.height }, img), pose };
}

/** Per-coordinate median of many point sets of equal length (robust to a few bad alignments). */
export function medianPoints(sets: readonly (readonly Point[])[]): Point[] {
  if (sets.length === 0) throw new DataError('<fiducial sets>', 'no point sets to take a median of');
  const n = (sets[0] as readonly Point[]).length;
  const med = (v: number[]): number => {
    v.sort((a, b) => a - b);
    const m = v.length >> 1;
    return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
  };
  return Array.from({ length: n }, (_, i) => [med(sets.map((s) => (s[i] as Point)[0])), med(sets.map((s) => (s[i] as Point)[1]))] as Point);
}

function checkPoints(v: unknown, file: string, field: string): Point[] {
  const ok = Array.isArray(v) && v.length === CFP_FIDUCIAL_COUNT
    && v.every((p) => Array.isArray(p) && p.length === 2 && p.every((c) => typeof c === 'number' && Number.isFinite(c)));
  if (!ok) throw new ConfigError(file, field, `expected ${CFP_FIDUCIAL_COUNT} [x, y] number pairs`);
  return (v as [number, number][]).map(([x, y]) => [x, y] as Point);
}

/**
 * Loads and checks a template file ({frontal, profile: 30 [x,y] each, axisX}; other fields are notes).
 * @throws ConfigError naming the file and field
 */
export function loadFiducialTemplate(file: string = defaultFiducialTemplatePath()): FiducialTemplate {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(file, '', `cannot read the fiducial template: ${(err as Error).message}`);
  }
  if (typeof raw.axisX !== 'number' || !Number.isFinite(raw.axisX)) throw new ConfigError(file, 'axisX', 'expected a number');
  return { frontal: checkPoints(raw.frontal, file, 'frontal'), profile: checkPoints(raw.profile, file, 'profile'), axisX: raw.axisX };
}
