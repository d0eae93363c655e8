/**
 * The models that ship inside the package (`models/` at the package root, tracked in git): found from this
 * module's own location, so they resolve wherever the package is installed and whatever the working directory,
 * and verified against the SHA-256 in `models/manifest.json` before use. Model cards sit next to the files.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/atomic.js';
import { CheckpointError } from '../util/errors.js';

/** Keys of the shipped models, permanent. */
export const SHIPPED_MODELS = ['diffusion', 'ediffiqa', 'diffiqa-r'] as const;
export type ShippedModel = (typeof SHIPPED_MODELS)[number];

/** One manifest entry: the file (relative to `models/`), its checksum and size. */
export interface ShippedEntry {
  file: string;
  sha256: string;
  bytes: number;
}

export type Manifest = Partial<Record<ShippedModel, ShippedEntry>>;

/** The package root: the nearest folder above this module whose package.json is diffiqa's. */
export function packageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'diffiqa') return dir;
    if (path.dirname(dir) === dir) throw new CheckpointError(from, '', 'cannot find the diffiqa package root (no package.json named diffiqa above it)');
  }
}

/** The folder of the shipped models. */
export function modelsDir(root: string = packageRoot()): string {
  return path.join(root, 'models');
}

/** Reads `models/manifest.json`. @throws CheckpointError naming the file when it is missing or malformed */
export function readManifest(dir: string = modelsDir()): Manifest {
  const file = path.join(dir, 'manifest.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError(file, '', `cannot read the shipped-model manifest: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new CheckpointError(file, '', 'not a JSON object');
  return parsed as Manifest;
}

/** SHA-256 of a file, hex. */
export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * The path of shipped model `name`, after checking its size and SHA-256 against the manifest.
 * @throws CheckpointError naming the file when this version ships no such model, or the file is missing,
 *   resized or corrupted
 */
export function shippedModelPath(name: ShippedModel, dir: string = modelsDir()): string {
  const entry = readManifest(dir)[name];
  const manifest = path.join(dir, 'manifest.json');
  if (!entry) throw new CheckpointError(manifest, name, `this version of diffiqa ships no '${name}' model; pass a checkpoint explicitly`);
  const file = path.join(dir, entry.file);
  let bytes: number;
  try {
    bytes = fs.statSync(file).size;
  } catch {
    throw new CheckpointError(file, '', `shipped '${name}' model is missing (listed in ${manifest}); reinstall the package`);
  }
  if (bytes !== entry.bytes) throw new CheckpointError(file, '', `shipped '${name}' model has ${bytes} bytes, the manifest says ${entry.bytes}; reinstall the package`);
  if (sha256File(file) !== entry.sha256) throw new CheckpointError(file, '', `shipped '${name}' model fails its SHA-256 check (corrupted); reinstall the package`);
  return file;
}

/** True when this version ships model `name` (listed in the manifest; not verified). */
export function shipsModel(name: ShippedModel, dir: string = modelsDir()): boolean {
  try {
    return readManifest(dir)[name] !== undefined;
  } catch {
    return false;
  }
}

/**
 * Writes `bytes` to `models/<file>` and records its checksum in the manifest (both written atomically), so
 * that `shippedModelPath(name)` returns it. Used by scripts/shipped/ when a trained model is promoted.
 */
export function registerShipped(name: ShippedModel, file: string, bytes: Uint8Array, dir: string = modelsDir()): ShippedEntry {
  const entry: ShippedEntry = { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  writeFileAtomic(path.join(dir, file), bytes);
  const manifest = fs.existsSync(path.join(dir, 'manifest.json')) ? readManifest(dir) : {};
  const sorted = Object.fromEntries(Object.entries({ ...manifest, [name]: entry }).sort(([a], [b]) => a.localeCompare(b)));
  writeFileAtomic(path.join(dir, 'manifest.json'), `${JSON.stringify(sorted, null, 2)}\n`);
  return entry;
}
