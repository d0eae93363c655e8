/**
 * One detected face to the ArcFace 112x112 template (METHOD §9): its 68 landmarks reduced to the 5 ArcFace points,
 * the least-squares similarity to the template, and a bilinear warp. Pure: no files, so the browser scorer
 * (src/serve/page) aligns with this very code; align.ts adds decoding, face selection and output files.
 */
import type { RgbImage } from '../data/image.js';
import type { FaceBox } from './ssd-net.js';
import { reduceTo5, type LandmarkNet } from './landmark-net.js';
import { ARCFACE_TEMPLATE_112, estimateSimilarity, similarityResidual, type Point, type Similarity } from './similarity.js';
import { warpSimilarity } from './warp.js';

/** Side of the aligned crop, pixels (the template's). */
export const ALIGNED_SIZE = 112;

/** Longest side a photo is decoded at before detection (`alignFile`; larger photos are shrunk first). */
export const ALIGN_MAX_SIDE = 1024;

/** Aligns the face in box `box` of `img`: returns the 112x112 crop (RGB in the input's range) and the fit. */
export function alignFace(img: RgbImage, box: FaceBox, landmarks: LandmarkNet): { crop: RgbImage; points: Point[]; transform: Similarity; residual: number } {
  const points = reduceTo5(landmarks.detect(img, box));
  const transform = estimateSimilarity(points, ARCFACE_TEMPLATE_112);
  return { crop: warpSimilarity(img, transform, ALIGNED_SIZE), points, transform, residual: similarityResidual(transform, points, ARCFACE_TEMPLATE_112) };
}
