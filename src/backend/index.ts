/** Backend selection (to be completed by the native backend work). */
import { tf } from './tf.js';

/** Initialises the best available backend (or `preferred`) and returns its name. */
export async function initBackend(preferred?: string): Promise<string> {
  await tf.setBackend(preferred ?? 'cpu');
  await tf.ready();
  return tf.getBackend();
}
