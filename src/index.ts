/** The public API of diffiqa. Anything not exported here is internal. */
export { tf } from './backend/tf.js';
export { initBackend } from './backend/index.js';
export * from './util/errors.js';
