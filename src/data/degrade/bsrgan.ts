/**
 * The BSRGAN degradation (`degradation_bsrgan`, sf = 4, no ISP model) and DifFIQA's wrappers around it
 * (METHOD §1.4): `autoDegrade` (bilinear to 512x512 -> BSRGAN -> uint8 -> 128x128) and the LQ chain that applies
 * it with p = 1, 0.2, 0.01 and then resizes to the training size. All randomness comes from the `Rng` passed in,
 * so one seed gives one image, bit for bit.
 */
import type { Rng } from '../../util/rng.js';
import { CHANNELS, type RgbImage, cloneImage, createImage, quantizeUint8 } from '../image.js';
import { resizeImage } from '../image-io.js';
import { addBlur } from './blur.js';
import { downsampleRandom, downsampleToTarget, halveRandom } from './downsample.js';
import { addJpegNoise } from './jpeg.js';
import { addGaussianNoise } from './noise.js';
import { resizeCv } from './resize-cv.js';

/** Probabilities of the BSRGAN flow (reference values: `scale2_prob`, `jpeg_prob`). */
export const BSRGAN_PROBS = { halve: 0.25, jpeg: 0.9 } as const;

/** Probabilities with which the LQ chain applies `autoDegrade` (METHOD §1.4: 1, 0.2, 0.01). */
export const AUTO_DEGRADE_PROBS: readonly number[] = [1, 0.2, 0.01];

/** Working size of `autoDegrade` (cv2.resize to 512x512 before BSRGAN). */
export const AUTO_DEGRADE_SIZE = 512;

/** The op indices of one BSRGAN run in the order applied: a shuffle of 0..6 with op2 before op3. */
export function drawOpOrder(rng: Rng): number[] {
  const order = rng.shuffle([0, 1, 2, 3, 4, 5, 6]);
  const i2 = order.indexOf(2);
  const i3 = order.indexOf(3);
  if (i2 > i3) [order[i2], order[i3]] = [3, 2]; // op3 resizes relative to op2's input: keep it after op2
  return order;
}

/**
 * `degradation_bsrgan(img, sf)`: mod-crop to a multiple of sf, optional halving (sf=4 only, p=0.25, then
 * sf=2), the shuffled ops (blur, blur, downsample-2, downsample-3, noise, JPEG p=0.9, ISP skipped), final JPEG.
 * @param img RGB in [0,1], at least 72·sf px per side in the reference (not enforced here)
 * @returns the LQ image, (size/sf_original) per side, 8-bit levels in [0,1]
 */
export async function degradeBsrgan(img: RgbImage, rng: Rng, sf = 4): Promise<RgbImage> {
  let x = modCrop(img, sf);
  let scale = sf;
  if (sf === 4 && rng.chance(BSRGAN_PROBS.halve)) {
    x = halveRandom(x, rng);
    scale = 2;
  }
  let before = { width: x.width, height: x.height };
  for (const op of drawOpOrder(rng)) {
    if (op === 0 || op === 1) x = addBlur(x, rng, scale);
    else if (op === 2) {
      before = { width: x.width, height: x.height };
      x = downsampleRandom(x, rng, scale);
    } else if (op === 3) x = downsampleToTarget(x, rng, before.width, before.height, scale);
    else if (op === 4) x = addGaussianNoise(x, rng).image;
    else if (op === 5 && rng.chance(BSRGAN_PROBS.jpeg)) x = await addJpegNoise(x, rng);
    // op 6 (camera ISP noise) needs an ISP model; DifFIQA runs without one (METHOD §1.4).
  }
  return addJpegNoise(x, rng);
}

/** `auto_degrade`: bilinear (cv2) resize to 512x512 at 8 bits, BSRGAN with sf=4, rounded to 8 bits: 128x128. */
export async function autoDegrade(img: RgbImage, rng: Rng): Promise<RgbImage> {
  // The reference resizes a uint8 array, so its result is 8-bit: round here too.
  const big = quantizeUint8(resizeCv(img, AUTO_DEGRADE_SIZE, AUTO_DEGRADE_SIZE, 'linear'));
  return quantizeUint8(await degradeBsrgan(big, rng, 4));
}

/**
 * The LQ side of a training pair (METHOD §1.4): `autoDegrade` with p = 1, then 0.2, then 0.01, then resized to
 * `width x height` (sharp linear, as the HQ side). The input is not modified.
 */
export async function degradeChain(img: RgbImage, rng: Rng, width: number, height: number): Promise<RgbImage> {
  let x = cloneImage(img);
  for (const p of AUTO_DEGRADE_PROBS) {
    if (p >= 1 || rng.chance(p)) x = await autoDegrade(x, rng);
  }
  return resizeImage(x, width, height);
}

/** Crops to a multiple of sf in each dimension (top-left kept), as BSRGAN's mod crop. */
export function modCrop(img: RgbImage, sf: number): RgbImage {
  const w = img.width - (img.width % sf);
  const h = img.height - (img.height % sf);
  if (w === img.width && h === img.height) return img;
  const out = createImage(w, h);
  for (let y = 0; y < h; y++) {
    const s = y * img.width * CHANNELS;
    out.data.set(img.data.subarray(s, s + w * CHANNELS), y * w * CHANNELS);
  }
  return out;
}
