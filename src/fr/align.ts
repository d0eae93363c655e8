/**
 * Face alignment to the ArcFace 112x112 template (METHOD §9): SSD face detection, 68-point landmarks, the
 * 5 ArcFace points (eye centres, nose tip 30, mouth corners 48/54), a least-squares similarity transform to
 * the template, and a bilinear warp. Every input gets a result record (ok / no face / several faces /
 * error): nothing is dropped silently.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import type { RgbImage } from '../data/image.js';
import { decodeImage, writeImage } from '../data/image-io.js';
import { listImageFiles } from '../data/files.js';
import { appendLinesDurable } from '../util/atomic.js';
import { describeError } from '../util/errors.js';
import { ALIGN_MAX_SIDE, alignFace } from './align-face.js';
import { loadFaceDetector, type DetectOptions, type FaceBox, type FaceDetector } from './detect.js';
import { loadLandmarkNet, type LandmarkNet } from './landmarks.js';
import type { Point, Similarity } from './similarity.js';

// Aligning one detected face is pure and shared with the browser scorer (src/serve/page).
export { alignFace } from './align-face.js';

/** What to do when a photo holds several faces. */
export type MultiFacePolicy = 'largest' | 'skip';

/** Options of `align` / `alignImage`. */
export interface AlignOptions extends DetectOptions {
  /** Several faces: keep the largest box (default) or skip the photo. Either way the record says how many. */
  multiFace?: MultiFacePolicy;
  /** Longest side the photo is decoded at (larger photos are shrunk first). Default `ALIGN_MAX_SIDE` (1024). */
  maxSide?: number;
  /** Output format by extension: 'png' (lossless, default) or 'jpg'. */
  format?: 'png' | 'jpg';
  /** Name of the JSONL record file inside the output folder. Default 'align-results.jsonl'. */
  recordFile?: string;
}

/** The outcome for one photo. */
export interface AlignRecord {
  input: string;
  status: 'ok' | 'no-face' | 'multiple-faces' | 'error';
  /** Faces found above the confidence threshold. */
  faces: number;
  output?: string;
  box?: FaceBox;
  /** The 5 points in the photo, pixels. */
  landmarks5?: Point[];
  transform?: Similarity;
  /** RMS distance (112-px template units) between the mapped 5 points and the template. */
  residual?: number;
  error?: string;
}

/** The detector and landmark net, loaded once for many photos. */
export interface Aligner {
  detector: FaceDetector;
  landmarks: LandmarkNet;
  dispose(): void;
}

/** Loads the face-api SSD detector and 68-point landmark net (our tf). */
export function loadAligner(): Aligner {
  const detector = loadFaceDetector();
  const landmarks = loadLandmarkNet();
  return { detector, landmarks, dispose: () => (detector.dispose(), landmarks.dispose()) };
}

/** Detects, picks a face by policy and aligns it; `crop` is absent unless status is 'ok'. */
export function alignImage(img: RgbImage, aligner: Aligner, opts: AlignOptions = {}): { record: Omit<AlignRecord, 'input'>; crop?: RgbImage } {
  const boxes = aligner.detector.detect(img, opts);
  if (boxes.length === 0) return { record: { status: 'no-face', faces: 0 } };
  if (boxes.length > 1 && (opts.multiFace ?? 'largest') === 'skip') return { record: { status: 'multiple-faces', faces: boxes.length } };
  const box = boxes.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const fit = alignFace(img, box, aligner.landmarks);
  return {
    record: { status: 'ok', faces: boxes.length, box, landmarks5: fit.points, transform: fit.transform, residual: fit.residual },
    crop: fit.crop,
  };
}

/** Decodes a photo (shrunk to `opts.maxSide`, default `ALIGN_MAX_SIDE` = 1024) and aligns its face by `alignImage`. */
export async function alignFile(file: string, aligner: Aligner, opts: AlignOptions = {}): Promise<{ record: Omit<AlignRecord, 'input'>; crop?: RgbImage }> {
  return alignImage(await decodeImage(file, { size: 'native', maxSide: opts.maxSide ?? ALIGN_MAX_SIDE }), aligner, opts);
}

function outputPath(file: string, inRoot: string, outDir: string, format: 'png' | 'jpg'): string {
  const rel = inRoot ? relative(inRoot, file) : basename(file);
  const safe = rel.startsWith('..') ? basename(file) : rel;
  return join(outDir, dirname(safe), `${basename(safe, extname(safe))}.${format}`);
}

/**
 * Aligns every image under `input` (a file, folder or glob, or a list) into `outDir` (same relative paths,
 * 112x112), appending one JSON record per photo to `outDir/align-results.jsonl`.
 * @returns the records, in input order
 */
export async function align(input: string | readonly string[], outDir: string, opts: AlignOptions = {}): Promise<AlignRecord[]> {
  const files = listImageFiles(input);
  // Outputs mirror paths relative to an input folder; single files and globs keep their base names.
  const inRoot = typeof input === 'string' && existsSync(input) && statSync(input).isDirectory() ? resolve(input) : '';
  const format = opts.format ?? 'png';
  const recordFile = join(outDir, opts.recordFile ?? 'align-results.jsonl');
  mkdirSync(outDir, { recursive: true });
  const aligner = loadAligner();
  const records: AlignRecord[] = [];
  try {
    for (const file of files) {
      let rec: AlignRecord;
      try {
        const { record, crop } = await alignFile(file, aligner, opts);
        rec = { input: file, ...record };
        if (crop) {
          rec.output = outputPath(resolve(file), inRoot, outDir, format);
          mkdirSync(dirname(rec.output), { recursive: true });
          await writeImage(rec.output, crop);
        }
      } catch (err) {
        rec = { input: file, status: 'error', faces: 0, error: describeError(err) };
      }
      appendLinesDurable(recordFile, [JSON.stringify(rec)]);
      records.push(rec);
    }
  } finally {
    aligner.dispose();
  }
  return records;
}
