/**
 * Run checkpoints: one folder per saved step (`ckpt-000500/`) holding weights, EMA and optimiser moments as
 * safetensors (weights under the reference's PyTorch names and layouts) plus `state.json` (format version, the
 * diffiqa version that wrote it, step, RNG state, optimiser step, config, and the SHA-256 of every tensor file;
 * a newer format version is refused, src/util/format-version.ts). `latest.json` points at the newest complete
 * checkpoint and is replaced atomically only after the folder is complete, so a kill at any moment leaves the
 * previous checkpoint usable. Corruption (truncation, bit flips) is caught by the checksums.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostTensor } from '../nn/params.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { CheckpointError } from '../util/errors.js';
import { FORMATS, checkFormatVersion, diffiqaVersion } from '../util/format-version.js';

/** Everything a checkpoint holds. `tensors` maps a file stem ('model', 'ema', 'optim') to its tensors. */
export interface CheckpointData<S> {
  step: number;
  tensors: Record<string, Map<string, HostTensor>>;
  state: S;
}

interface StateFile<S> {
  format: typeof FORMATS.checkpoint.name;
  /** Format version (src/util/format-version.ts); every checkpoint has recorded it, under this key. */
  version: number;
  /** The diffiqa that wrote the checkpoint; absent in checkpoints written before format versioning. */
  diffiqaVersion?: string;
  step: number;
  files: Record<string, { sha256: string; bytes: number }>;
  state: S;
}

const LATEST = 'latest.json';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Folder name for a step: zero-padded so that listings sort by step. */
export function checkpointDirName(step: number): string {
  return `ckpt-${String(step).padStart(7, '0')}`;
}

/**
 * Writes a complete checkpoint under `runDir`, then points `latest.json` at it and prunes all but the newest
 * `keep` checkpoints. Returns the checkpoint folder.
 */
export function saveCheckpoint<S>(runDir: string, data: CheckpointData<S>, keep = 2): string {
  const dir = path.join(runDir, checkpointDirName(data.step));
  const files: StateFile<S>['files'] = {};
  for (const [stem, tensors] of Object.entries(data.tensors)) {
    const bytes = encodeSafetensors(tensors, { step: String(data.step) });
    writeFileAtomic(path.join(dir, `${stem}.safetensors`), bytes);
    files[stem] = { sha256: sha256(bytes), bytes: bytes.length };
  }
  const stateFile: StateFile<S> = {
    format: FORMATS.checkpoint.name,
    version: FORMATS.checkpoint.version,
    diffiqaVersion: diffiqaVersion(),
    step: data.step,
    files,
    state: data.state,
  };
  writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify(stateFile, null, 1));
  writeFileAtomic(path.join(runDir, LATEST), JSON.stringify({ step: data.step, dir: path.basename(dir) }));
  pruneCheckpoints(runDir, keep);
  return dir;
}

/** Checkpoint folders in `runDir`, oldest first. */
export function listCheckpoints(runDir: string): string[] {
  if (!fs.existsSync(runDir)) return [];
  return fs
    .readdirSync(runDir)
    .filter((n) => /^ckpt-\d+$/.test(n))
    .sort()
    .map((n) => path.join(runDir, n));
}

function pruneCheckpoints(runDir: string, keep: number): void {
  const all = listCheckpoints(runDir);
  for (const dir of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(dir, { recursive: true, force: true });
}

/** The folder `latest.json` points at, or null when the run has no checkpoint yet. */
export function latestCheckpoint(runDir: string): string | null {
  const file = path.join(runDir, LATEST);
  if (!fs.existsSync(file)) return null;
  let parsed: { dir?: unknown };
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { dir?: unknown };
  } catch (err) {
    throw new CheckpointError(file, '', `unreadable pointer file: ${(err as Error).message}`);
  }
  if (typeof parsed.dir !== 'string') throw new CheckpointError(file, 'dir', 'missing checkpoint folder name');
  return path.join(runDir, parsed.dir);
}

/**
 * Reads and verifies a checkpoint folder. Any missing file, size or checksum mismatch is a CheckpointError
 * naming the file; the message also names an older intact checkpoint to resume from when one exists.
 */
export function loadCheckpoint<S>(dir: string): CheckpointData<S> {
  const statePath = path.join(dir, 'state.json');
  let stateFile: StateFile<S>;
  try {
    stateFile = JSON.parse(fs.readFileSync(statePath, 'utf8')) as StateFile<S>;
  } catch (err) {
    throw corrupt(dir, statePath, `cannot read state: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof stateFile !== 'object' || stateFile === null || stateFile.format !== FORMATS.checkpoint.name) throw corrupt(dir, statePath, 'not a diffiqa checkpoint');
  checkFormatVersion('checkpoint', statePath, stateFile.version, stateFile.diffiqaVersion);
  const tensors: CheckpointData<S>['tensors'] = {};
  for (const [stem, meta] of Object.entries(stateFile.files)) {
    const file = path.join(dir, `${stem}.safetensors`);
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(file);
    } catch (err) {
      throw corrupt(dir, file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (bytes.length !== meta.bytes) throw corrupt(dir, file, `truncated or resized: ${bytes.length} bytes, expected ${meta.bytes}`);
    if (sha256(bytes) !== meta.sha256) throw corrupt(dir, file, 'checksum mismatch (file corrupted on disk)');
    tensors[stem] = decodeSafetensors(bytes, file).tensors;
  }
  return { step: stateFile.step, tensors, state: stateFile.state };
}

function corrupt(dir: string, file: string, reason: string): CheckpointError {
  const runDir = path.dirname(dir);
  const older = listCheckpoints(runDir).filter((d) => d < dir);
  const prev = older[older.length - 1];
  const hint = prev ? `; an older checkpoint exists: resume from it with --resume-from ${prev}` : '';
  return new CheckpointError(file, '', `${reason}${hint}`);
}
