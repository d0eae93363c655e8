import { describe, expect, it } from 'vitest';
import { createImage, flipHorizontal, fromUint8, toUint8, writeSigned } from '../../src/data/image.js';

describe('image helpers', () => {
  it('toUint8 rounds like numpy single2uint (float32 product, halves to even)', () => {
    // Expected from /usr/bin/python3: a = np.array([0.5/255, 1.5/255, 2.5/255, 254.5/255, -0.1, 1.2], np.float32);
    // np.uint8((a.clip(0, 1) * 255.).round()) -> [0, 2, 2, 254, 0, 255]
    const img = createImage(2, 1);
    img.data.set([0.5 / 255, 1.5 / 255, 2.5 / 255, 254.5 / 255, -0.1, 1.2]);
    expect(Array.from(toUint8(img))).toEqual([0, 2, 2, 254, 0, 255]);
  });

  it('fromUint8 / flip / writeSigned', () => {
    const img = fromUint8(2, 1, Uint8Array.from([0, 51, 255, 255, 0, 102]));
    expect(Array.from(flipHorizontal(img).data)).toEqual([1, 0, 0.4, 0, 0.2, 1].map((v) => Math.fround(v)));
    const dst = new Float32Array(8);
    writeSigned(img, dst, 2);
    const want = [-1, -0.6, 1, 1, -1, -0.2];
    dst.subarray(2).forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    expect(dst[0]).toBe(0);
  });
});
