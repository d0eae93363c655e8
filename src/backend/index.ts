/**
 * Backend selection: tfjs-node-gpu ('tensorflow'), tfjs-node ('tensorflow'), then `native`, then `cpu`.
 * A missing candidate falls through with one line on stderr saying why; DIFFIQA_BACKEND or `preferred` forces one.
 */
import { BackendError, describeError } from '../util/errors.js';
import { loadNativeAddon } from './native-binding.js';
import { NATIVE_BACKEND, nativeUnavailableReason } from './register-native.js';
import { tf } from './tf.js';

export { tf } from './tf.js';
export { groupNorm, groupNormComposite, GROUP_NORM_EPS } from './ops/group-norm.js';
export { NATIVE_BACKEND } from './register-native.js';

/** A backend candidate: `name` is what tfjs calls it, `label` what the user may ask for. */
interface Candidate {
  label: string;
  backend: string;
  /** Makes the backend available; throws BackendError (with the reason) when it cannot. */
  prepare: () => Promise<void>;
}

/** Imports a tfjs-node flavour and checks that it registered into our tfjs-core (npm dedupes 4.22). */
async function prepareTfjsNode(pkg: string, label: string): Promise<void> {
  try {
    await import(pkg);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? 'not installed' : describeError(err);
    throw new BackendError(label, `${pkg} ${why}`);
  }
  if (tf.findBackendFactory('tensorflow') === null) {
    throw new BackendError(label, `${pkg} registered into another @tensorflow/tfjs-core copy (version mismatch)`);
  }
}

const CANDIDATES: readonly Candidate[] = [
  { label: 'tensorflow-gpu', backend: 'tensorflow', prepare: () => prepareTfjsNode('@tensorflow/tfjs-node-gpu', 'tensorflow-gpu') },
  { label: 'tensorflow', backend: 'tensorflow', prepare: () => prepareTfjsNode('@tensorflow/tfjs-node', 'tensorflow') },
  {
    label: NATIVE_BACKEND,
    backend: NATIVE_BACKEND,
    prepare: async () => {
      loadNativeAddon(); // throws the BackendError naming the missing addon
      if (tf.findBackendFactory(NATIVE_BACKEND) === null) {
        throw new BackendError(NATIVE_BACKEND, nativeUnavailableReason() ?? 'not registered');
      }
    },
  },
  { label: 'cpu', backend: 'cpu', prepare: async () => undefined },
];

/** Valid values of DIFFIQA_BACKEND / `preferred`. */
export const BACKEND_NAMES: readonly string[] = CANDIDATES.map((c) => c.label);

async function activate(c: Candidate): Promise<void> {
  await c.prepare();
  const ok = await tf.setBackend(c.backend);
  if (!ok) throw new BackendError(c.label, 'failed to initialise');
  await tf.ready();
}

/**
 * Initialises the best available backend, or the one forced by `preferred` / DIFFIQA_BACKEND, and returns the
 * tfjs backend name ('tensorflow', 'native' or 'cpu').
 * @throws BackendError when a forced backend is unknown or unavailable.
 */
export async function initBackend(preferred?: string): Promise<string> {
  const forced = preferred ?? process.env['DIFFIQA_BACKEND'];
  if (forced !== undefined && forced !== '') {
    const c = CANDIDATES.find((k) => k.label === forced) ?? CANDIDATES.find((k) => k.backend === forced);
    if (c === undefined) {
      throw new BackendError(forced, `unknown backend; expected one of: ${BACKEND_NAMES.join(', ')}`);
    }
    await activate(c);
    return tf.getBackend();
  }
  for (let i = 0; i < CANDIDATES.length; i++) {
    const c = CANDIDATES[i] as Candidate;
    try {
      await activate(c);
      return tf.getBackend();
    } catch (err) {
      const next = CANDIDATES[i + 1]?.label ?? 'nothing';
      const reason = err instanceof BackendError ? err.reason : describeError(err);
      process.stderr.write(`diffiqa: ${reason}; trying ${next}\n`);
    }
  }
  throw new BackendError('cpu', 'no backend could be initialised');
}

/**
 * One line describing the active backend, e.g. "diffiqa: backend native (2 threads, avx512)", for the CLI to log
 * once after initBackend.
 */
export function describeBackend(): string {
  const name = tf.getBackend();
  if (name === NATIVE_BACKEND) {
    const { threads, isa } = loadNativeAddon().info();
    return `diffiqa: backend native (${threads} thread${threads === 1 ? '' : 's'}, ${isa})`;
  }
  return `diffiqa: backend ${name}`;
}
