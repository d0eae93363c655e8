/**
 * The one tfjs instance the project uses. Everything outside src/backend imports `tf` from here, never from
 * '@tensorflow/tfjs-core' directly, so that backend registration happens in exactly one place.
 * Importing it installs the chained tensor methods and every gradient, registers `cpu` and, when the addon is built, `native`
 * (priority below cpu: initBackend chooses).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Gradients: tfjs-core's Node bundle registers none, and its register_all_gradients.js is an ES module with
// directory imports that Node cannot load. tfjs-layers' Node bundle registers all of tfjs-core's GradConfigs
// into the shared (global) gradient registry, so importing it is what makes tf.grad work under Node and vitest.
import '@tensorflow/tfjs-layers';
// Type-only: brings tfjs's declarations of the chained methods (module augmentation); installChainedOps() adds them.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import { installChainedOps } from './chained-ops.js';
import { registerNativeBackend } from './register-native.js';

installChainedOps();
registerNativeBackend();

export { tf };

/**
 * Whether a gradient tape is recording (inside tf.grad, tf.grads, tf.variableGrads, an optimizer's minimize): ops
 * then must be differentiable, and values derived from parameters must be recomputed in the graph.
 */
export function recordingGradients(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}
