/**
 * Format versions of every file diffiqa writes, and the one check every reader of them calls.
 *
 * Each file records the version of its format and the diffiqa version that wrote it:
 *
 * | format             | file                                        | where the version is                         |
 * |--------------------|---------------------------------------------|----------------------------------------------|
 * | diffiqa-checkpoint | `<run>/ckpt-NNNNNNN/state.json`             | `version` (there since the first checkpoint), `diffiqaVersion` |
 * | diffiqa-regressor  | regressor `.safetensors` (`best.safetensors`) | `__metadata__.formatVersion`, `.diffiqaVersion` |
 * | diffiqa-unet       | diffusion UNet `.safetensors` export        | `__metadata__.formatVersion`, `.diffiqaVersion` |
 * | diffiqa-results    | label / score `.csv` / `.jsonl` + errors    | sidecar `<out>.meta.json`                     |
 * | diffiqa-stages     | experiment `<out>/stages.json`              | `formatVersion`, `diffiqaVersion`             |
 *
 * A reader refuses a version newer than it knows, naming the file, its version and the diffiqa that wrote it,
 * rather than misreading it. A file without a version was written before versioning existed and is version 1:
 * the shipped `models/diffusion-cpu-small.safetensors` and `models/training-labels.csv` are such files, and they
 * keep loading unchanged. A format change that old readers would misread bumps its number here; the reader then
 * handles each older version it still accepts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatVersionError } from './errors.js';

/** Every format's name (its `format` tag) and the newest version this code reads and writes. */
export const FORMATS = {
  checkpoint: { name: 'diffiqa-checkpoint', version: 1 },
  regressor: { name: 'diffiqa-regressor', version: 1 },
  unet: { name: 'diffiqa-unet', version: 1 },
  results: { name: 'diffiqa-results', version: 1 },
  stages: { name: 'diffiqa-stages', version: 1 },
} as const;

export type FormatKind = keyof typeof FORMATS;

/** The version of a file that records none: everything written before formats were versioned. */
export const UNVERSIONED = 1;

/** What a writer records: the format version and the diffiqa version writing it. */
export interface VersionStamp {
  formatVersion: number;
  diffiqaVersion: string;
}

let cachedVersion: string | undefined;

/**
 * The version of this diffiqa, from the package.json of the package holding this module (found upwards, so it
 * works from `src/` under tsx and from `dist/src/` after a build).
 */
export function diffiqaVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'diffiqa' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    }
    if (path.dirname(dir) === dir) return (cachedVersion = 'unknown');
  }
}

/** The stamp a writer of `kind` records now. */
export function versionStamp(kind: FormatKind): VersionStamp {
  return { formatVersion: FORMATS[kind].version, diffiqaVersion: diffiqaVersion() };
}

/** The stamp as safetensors metadata (which maps strings to strings). */
export function versionMetadata(kind: FormatKind): { formatVersion: string; diffiqaVersion: string } {
  const s = versionStamp(kind);
  return { formatVersion: String(s.formatVersion), diffiqaVersion: s.diffiqaVersion };
}

/**
 * Checks the format version recorded in `file` (a number, or a decimal string from safetensors metadata) and
 * returns it; a missing version (undefined) is a file from before versioning: version 1.
 * @throws FormatVersionError naming the file, its version and the diffiqa that wrote it when the version is newer
 *   than this code reads, or is not a positive integer
 */
export function checkFormatVersion(kind: FormatKind, file: string, recorded: unknown, writtenBy: unknown): number {
  if (recorded === undefined) return UNVERSIONED;
  const { name, version: newest } = FORMATS[kind];
  const by = typeof writtenBy === 'string' && writtenBy.length <= 40 ? `diffiqa ${writtenBy}` : 'an unknown diffiqa version';
  const found = typeof recorded === 'string' && /^\d{1,9}$/.test(recorded) ? Number(recorded) : recorded;
  if (typeof found !== 'number' || !Number.isSafeInteger(found) || found < 1) {
    const shown = typeof recorded === 'string' ? JSON.stringify(recorded.slice(0, 20)) : typeof recorded === 'number' ? String(recorded) : typeof recorded;
    throw new FormatVersionError(file, `${name} format version must be a positive integer, got ${shown} (written by ${by})`);
  }
  if (found > newest) {
    throw new FormatVersionError(
      file,
      `${name} format version ${found}, written by ${by}, is newer than this diffiqa ${diffiqaVersion()} reads (up to version ${newest}); upgrade diffiqa to read it`,
    );
  }
  return found;
}
