/**
 * src/data/exif-orientation.ts against sharp: the tag as sharp writes it, the eight orientations as sharp's
 * autoOrient applies them, and the order decodeImage uses (shrink in the stored orientation, then rotate), which the
 * browser scorer reproduces by undoing the browser's rotation, shrinking, and rotating back.
 */
import * as fs from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { applyOrientation, readExifOrientation, undoOrientation } from '../../src/data/exif-orientation.js';
import { toUint8 } from '../../src/data/image.js';
import { decodeImage } from '../../src/data/image-io.js';
import { reduceToFit, type Uint8Image } from '../../src/data/linear-reduce.js';
import { samplePhotos } from '../../src/experiment/demo.js';

async function raw(pipeline: sharp.Sharp): Promise<Uint8Image> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
}

describe('EXIF orientation', () => {
  const photo = fs.readFileSync(samplePhotos()[0] as string);

  for (let o = 1; o <= 8; o++) {
    it(`orientation ${o}: read from the JPEG, applied as sharp's autoOrient, and shrink-then-rotate equals decodeImage`, async () => {
      const jpeg = await sharp(photo).withMetadata({ orientation: o }).jpeg({ quality: 90 }).toBuffer();
      expect(readExifOrientation(jpeg)).toBe(o);
      const stored = await raw(sharp(jpeg));
      const shown = applyOrientation(stored, o);
      const sharpShown = await raw(sharp(jpeg).autoOrient());
      expect([shown.width, shown.height]).toEqual([sharpShown.width, sharpShown.height]);
      expect(Buffer.from(shown.data).equals(Buffer.from(sharpShown.data))).toBe(true);
      expect(Buffer.from(undoOrientation(shown, o).data).equals(Buffer.from(stored.data))).toBe(true);

      const node = await decodeImage(jpeg, { size: 'native', maxSide: 1024 }, `orientation-${o}.jpg`);
      const ours = applyOrientation(reduceToFit(undoOrientation(shown, o), 1024), o);
      expect([ours.width, ours.height]).toEqual([node.width, node.height]);
      expect(Buffer.from(ours.data).equals(Buffer.from(toUint8(node)))).toBe(true);
    });
  }

  it('is 1 for a photo without EXIF, for other formats, and for truncated or malformed EXIF', async () => {
    expect(readExifOrientation(photo)).toBe(1); // the sample photos carry no orientation
    expect(readExifOrientation(await sharp(photo).resize(64).png().toBuffer())).toBe(1);
    const tagged = await sharp(photo).resize(64).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    expect(readExifOrientation(tagged)).toBe(6);
    const app1 = tagged.indexOf(Buffer.from('Exif\0\0'));
    expect(readExifOrientation(tagged.subarray(0, app1 + 12))).toBe(1); // cut inside the TIFF header
    const bad = Buffer.from(tagged);
    bad.write('XX', app1 + 6, 'latin1'); // not a TIFF byte order
    expect(readExifOrientation(bad)).toBe(1);
    expect(readExifOrientation(new Uint8Array([0xff, 0xd8]))).toBe(1);
    expect(readExifOrientation(new Uint8Array(0))).toBe(1);
  });
});
