/**
 * EXIF orientation without a decoder: the tag read from a JPEG's bytes, and the eight orientations as pixel
 * permutations. The browser scorer needs them because sharp (decodeImage's `autoOrient`) shrinks a photo in its
 * stored orientation and rotates afterwards, while a browser hands over the photo already rotated: undoing the
 * rotation, shrinking, and rotating again gives sharp's pixels exactly (every step but the shrink moves pixels).
 */
import type { Uint8Image } from './linear-reduce.js';

/**
 * The EXIF orientation (1-8) of a JPEG's bytes; 1 (upright) when there is none, the bytes are not a JPEG, or the
 * EXIF block is malformed.
 */
export function readExifOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0xffd8) return 1;
  // Walk the segments up to the image data, looking for APP1 "Exif\0\0".
  for (let at = 2; at + 4 <= bytes.length; ) {
    const marker = view.getUint16(at);
    if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return 1;
    const length = view.getUint16(at + 2);
    if (length < 2) return 1;
    const start = at + 4;
    if (marker === 0xffe1 && start + 6 <= bytes.length && view.getUint32(start) === 0x45786966 && view.getUint16(start + 4) === 0) {
      return tiffOrientation(view, start + 6, Math.min(bytes.length, at + 2 + length));
    }
    at += 2 + length;
  }
  return 1;
}

/** The orientation tag (0x0112) of IFD0 in the TIFF block at [tiff, end). */
function tiffOrientation(view: DataView, tiff: number, end: number): number {
  if (tiff + 8 > end) return 1;
  const order = view.getUint16(tiff);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const little = order === 0x4949;
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > end) return 1;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return 1;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little); // a SHORT, left-justified in the value field
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/** For a displayed pixel (x, y), the stored pixel it shows, for a stored image of `w` x `h` (EXIF definitions). */
function storedPixel(orientation: number, x: number, y: number, w: number, h: number): [number, number] {
  switch (orientation) {
    case 2: return [w - 1 - x, y]; // mirrored
    case 3: return [w - 1 - x, h - 1 - y]; // rotated 180
    case 4: return [x, h - 1 - y]; // flipped
    case 5: return [y, x]; // transposed
    case 6: return [y, h - 1 - x]; // rotated 90 clockwise
    case 7: return [w - 1 - y, h - 1 - x]; // transversed
    case 8: return [w - 1 - y, x]; // rotated 90 counter-clockwise
    default: return [x, y];
  }
}

function swapsSides(orientation: number): boolean {
  return orientation >= 5 && orientation <= 8;
}

/** Moves pixels between the stored and displayed forms; `toDisplay` picks the direction. */
function permute(img: Uint8Image, orientation: number, toDisplay: boolean): Uint8Image {
  if (orientation < 2 || orientation > 8) return img;
  const swap = swapsSides(orientation);
  const out = { width: swap ? img.height : img.width, height: swap ? img.width : img.height, channels: img.channels, data: new Uint8Array(img.data.length) };
  const [display, stored] = toDisplay ? [out, img] : [img, out];
  const ch = img.channels;
  for (let y = 0; y < display.height; y++) {
    for (let x = 0; x < display.width; x++) {
      const [sx, sy] = storedPixel(orientation, x, y, stored.width, stored.height);
      const d = (y * display.width + x) * ch;
      const s = (sy * stored.width + sx) * ch;
      for (let c = 0; c < ch; c++) {
        if (toDisplay) out.data[d + c] = img.data[s + c] as number;
        else out.data[s + c] = img.data[d + c] as number;
      }
    }
  }
  return out;
}

/** The image as displayed under EXIF `orientation` (what sharp's autoOrient and browsers show). */
export function applyOrientation(stored: Uint8Image, orientation: number): Uint8Image {
  return permute(stored, orientation, true);
}

/** The inverse: the stored image behind a displayed one. */
export function undoOrientation(displayed: Uint8Image, orientation: number): Uint8Image {
  return permute(displayed, orientation, false);
}
