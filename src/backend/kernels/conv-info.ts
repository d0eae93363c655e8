/** Conv geometry for the native conv kernels, computed exactly as tfjs's cpu kernels compute it. */
import { backend_util } from '@tensorflow/tfjs-core';
import type { Conv2DAttrs } from '@tensorflow/tfjs-core';

type Shape4 = [number, number, number, number];

/** Attributes common to every conv kernel (the backprop kernels have no dilations/dataFormat: tfjs uses 1/NHWC). */
export interface ConvLikeAttrs {
  strides: Conv2DAttrs['strides'];
  pad: Conv2DAttrs['pad'];
  dataFormat?: Conv2DAttrs['dataFormat'];
  dilations?: Conv2DAttrs['dilations'];
  dimRoundingMode?: Conv2DAttrs['dimRoundingMode'];
}

/** computeConv2DInfo for `inShape` x `filterShape`; depthwise filters are [fH, fW, inC, multiplier]. */
export function convInfo(
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvLikeAttrs,
  depthwise: boolean,
): backend_util.Conv2DInfo | null {
  if (inShape.length !== 4 || filterShape.length !== 4) return null;
  const format = backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  return backend_util.computeConv2DInfo(
    [...inShape] as Shape4,
    [...filterShape] as Shape4,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    format,
  );
}
