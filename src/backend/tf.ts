/**
 * The one tfjs instance the project uses. Everything outside src/backend imports `tf` from here, never from
 * '@tensorflow/tfjs-core' directly, so that backend registration happens in exactly one place.
 * Importing it installs the chained tensor methods, registers `cpu` and, when the addon is built, `native`
 * (priority below cpu: initBackend chooses).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { installChainedOps } from './chained-ops.js';
import { registerNativeBackend } from './register-native.js';

installChainedOps();
registerNativeBackend();

export { tf };
