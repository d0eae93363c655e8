/**
 * Face detection with face-api's SSD MobileNet v1 (node_modules/@vladmandic/face-api/model/ssd_mobilenetv1_model*):
 * the network and box decoding are in ssd-net.ts (shared with the browser scorer); this file finds and reads the
 * weight files.
 */
import { createFaceDetector, type FaceDetector } from './ssd-net.js';
import { packageFile, readWeightManifest } from './tfjs-weights.js';

export { createFaceDetector, padResizeBottomRight, ssdForward, type DetectOptions, type FaceBox, type FaceDetector } from './ssd-net.js';

export function defaultSsdManifest(): string {
  return packageFile('@vladmandic/face-api', 'model/ssd_mobilenetv1_model-weights_manifest.json');
}

/** Loads the SSD MobileNet v1 face detector. */
export function loadFaceDetector(manifest = defaultSsdManifest()): FaceDetector {
  return createFaceDetector(readWeightManifest(manifest), manifest);
}
