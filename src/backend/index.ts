/**
 * Backend selection, automatic order: tfjs-node-gpu ('tensorflow') where an NVIDIA GPU is present, then `native`
 * (our C++ kernels, which match or beat PyTorch on the same CPU: README "Performance"), then tfjs-node's CPU
 * TensorFlow, then `cpu`. tfjs-node(-gpu) are optional peer dependencies that a user installs on purpose; on a CPU
 * TensorFlow 2.9 is not chosen ahead of `native` because no measurement here shows it faster for this workload.
 * A missing candidate falls through with one line on stderr saying why; DIFFIQA_BACKEND or `preferred` forces one
 * (`tensorflow` forces tfjs-node, or tfjs-node-gpu when only that is installed).
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
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
  // Resolved first, so that "not installed" reads the same under every loader (Node's, or a bundler's in tests).
  try {
    createRequire(import.meta.url).resolve(pkg);
  } catch {
    throw new BackendError(label, `${pkg} not installed`);
  }
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

/**
 * Whether an NVIDIA GPU is visible (the kernel driver lists one). tfjs-node-gpu silently runs TensorFlow on the CPU
 * without one, so the automatic choice checks first, before loading its CUDA libraries.
 */
export function nvidiaGpuPresent(procDir = '/proc/driver/nvidia/gpus'): boolean {
  try {
    return readdirSync(procDir).length > 0;
  } catch {
    return false;
  }
}

async function prepareTensorflowGpu(): Promise<void> {
  if (!nvidiaGpuPresent()) throw new BackendError('tensorflow-gpu', 'no NVIDIA GPU found (/proc/driver/nvidia/gpus)');
  await prepareTfjsNode('@tensorflow/tfjs-node-gpu', 'tensorflow-gpu');
}

/** Forced `tensorflow`: tfjs-node, or tfjs-node-gpu when that is the one installed. */
async function prepareTensorflowForced(): Promise<void> {
  try {
    await prepareTfjsNode('@tensorflow/tfjs-node', 'tensorflow');
  } catch (err) {
    try {
      await prepareTfjsNode('@tensorflow/tfjs-node-gpu', 'tensorflow');
    } catch {
      throw err;
    }
  }
}

const NATIVE_CANDIDATE: Candidate = {
  label: NATIVE_BACKEND,
  backend: NATIVE_BACKEND,
  prepare: async () => {
    loadNativeAddon(); // throws the BackendError naming the missing addon
    if (tf.findBackendFactory(NATIVE_BACKEND) === null) {
      throw new BackendError(NATIVE_BACKEND, nativeUnavailableReason() ?? 'not registered');
    }
  },
};

const CPU_CANDIDATE: Candidate = { label: 'cpu', backend: 'cpu', prepare: async () => undefined };

/** The automatic order. */
const CANDIDATES: readonly Candidate[] = [
  { label: 'tensorflow-gpu', backend: 'tensorflow', prepare: prepareTensorflowGpu },
  NATIVE_CANDIDATE,
  { label: 'tensorflow', backend: 'tensorflow', prepare: () => prepareTfjsNode('@tensorflow/tfjs-node', 'tensorflow') },
  CPU_CANDIDATE,
];

/** What each name forces. */
const FORCED: readonly Candidate[] = [
  { label: 'tensorflow-gpu', backend: 'tensorflow', prepare: () => prepareTfjsNode('@tensorflow/tfjs-node-gpu', 'tensorflow-gpu') },
  { label: 'tensorflow', backend: 'tensorflow', prepare: prepareTensorflowForced },
  NATIVE_CANDIDATE,
  CPU_CANDIDATE,
];

/** Valid values of DIFFIQA_BACKEND / `preferred`. */
export const BACKEND_NAMES: readonly string[] = FORCED.map((c) => c.label);

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
    const c = FORCED.find((k) => k.label === forced) ?? FORCED.find((k) => k.backend === forced);
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
