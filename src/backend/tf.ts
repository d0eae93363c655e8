/**
 * The one tfjs instance the project uses. Everything outside src/backend imports `tf` from here, never from
 * '@tensorflow/tfjs-core' directly, so that backend registration happens in exactly one place.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';

export { tf };
