/**
 * 68-point face landmarks with face-api's FaceLandmark68Net (model/face_landmark_68_model*): the network is in
 * landmark-net.ts (shared with the browser scorer); this file finds and reads the weight files.
 */
import { createLandmarkNet, type LandmarkNet } from './landmark-net.js';
import { packageFile, readWeightManifest } from './tfjs-weights.js';

export { clipBox, createLandmarkNet, landmarkForward, reduceTo5, type LandmarkNet } from './landmark-net.js';

export function defaultLandmarkManifest(): string {
  return packageFile('@vladmandic/face-api', 'model/face_landmark_68_model-weights_manifest.json');
}

/** Loads the 68-point landmark net. */
export function loadLandmarkNet(manifest = defaultLandmarkManifest()): LandmarkNet {
  return createLandmarkNet(readWeightManifest(manifest));
}
