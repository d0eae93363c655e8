/**
 * Versioned formats (src/util/format-version.ts), one block per format diffiqa writes: a file written now records
 * its format version and the diffiqa version; a file claiming version 999 is refused with a message naming the
 * file, the version and the diffiqa that wrote it (never misread, never appended to); a file from before
 * versioning (no version) still loads: the shipped models/diffusion-cpu-small.safetensors and
 * models/training-labels.csv, read in place and left byte for byte unchanged.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeUnetSafetensors, loadDiffusion } from '../../src/diffusion/load.js';
import { StageLog } from '../../src/experiment/stages.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import { encodeSafetensors, readSafetensors } from '../../src/io/safetensors.js';
import { LABEL_COLUMNS } from '../../src/pipelines/label.js';
import { ResultWriter, errorFileFor, mergeResults, metaFileFor, readErrors, readResults } from '../../src/pipelines/records.js';
import { loadRegressorWeights, readRegressorFile, saveRegressorFile } from '../../src/regressor/weights.js';
import { FormatVersionError } from '../../src/util/errors.js';
import { FORMATS, checkFormatVersion, diffiqaVersion } from '../../src/util/format-version.js';

const ROOT = path.resolve(__dirname, '../..');
const PACKAGE_VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const SHIPPED_UNET = path.join(ROOT, 'models', 'diffusion-cpu-small.safetensors');
const SHIPPED_LABELS = path.join(ROOT, 'models', 'training-labels.csv');
const TINY_UNET_PT = path.join(ROOT, 'test', 'fixtures', 'diffusion', 'tiny_unet.pt');
const TINY_REGRESSOR = path.join(ROOT, 'test', 'fixtures', 'regressor', 'diffiqa_r_tiny.pth');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'format-version-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string): string => {
  const dir = path.join(tmp, String(counter++));
  fs.mkdirSync(dir);
  return path.join(dir, name);
};

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const writeJson = (file: string, obj: unknown): void => fs.writeFileSync(file, JSON.stringify(obj));

/** `fn` is refused as written by a newer diffiqa: FormatVersionError naming `file`, version 999 and diffiqa 9.9.9. */
function expectNewerRefused(fn: () => unknown, file: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'a version 999 file was accepted').toBeInstanceOf(FormatVersionError);
  const message = (err as Error).message;
  expect(message).toContain(file);
  expect(message).toContain('format version 999');
  expect(message).toContain('written by diffiqa 9.9.9');
  expect(message).toContain(`this diffiqa ${PACKAGE_VERSION} reads (up to version 1)`);
}

describe('checkFormatVersion', () => {
  it('reads the package version, treats a missing version as 1 and accepts the current one as number or string', () => {
    expect(diffiqaVersion()).toBe(PACKAGE_VERSION);
    expect(checkFormatVersion('results', 'f', undefined, undefined)).toBe(1);
    expect(checkFormatVersion('unet', 'f', '1', PACKAGE_VERSION)).toBe(1);
    expect(checkFormatVersion('stages', 'f', 1, PACKAGE_VERSION)).toBe(1);
  });

  it('refuses a newer version, and a version that is not a positive integer, naming the file and the writer', () => {
    expectNewerRefused(() => checkFormatVersion('checkpoint', 'dir/state.json', 999, '9.9.9'), 'dir/state.json');
    expectNewerRefused(() => checkFormatVersion('regressor', 'best.safetensors', '999', '9.9.9'), 'best.safetensors');
    expect(() => checkFormatVersion('checkpoint', 'x.json', 2, undefined)).toThrow('x.json: diffiqa-checkpoint format version 2, written by an unknown diffiqa version, is newer');
    for (const bad of [0, -1, 1.5, '1.0', 'two', null, [1], {}]) {
      expect(() => checkFormatVersion('stages', 'x.json', bad, '0.1.0'), String(bad)).toThrow(/x\.json: diffiqa-stages format version must be a positive integer, got .* \(written by diffiqa 0\.1\.0\)/);
    }
  });
});

describe('training checkpoints (state.json)', () => {
  const save = (): string =>
    saveCheckpoint(path.dirname(fresh('run')), { step: 7, tensors: { model: new Map([['w', { shape: [2], data: Float32Array.of(1.5, -2) }]]) }, state: { seed: 3 } });

  it('a checkpoint written now records its format version and the diffiqa version', () => {
    const state = readJson(path.join(save(), 'state.json'));
    expect(state).toMatchObject({ format: 'diffiqa-checkpoint', version: FORMATS.checkpoint.version, diffiqaVersion: PACKAGE_VERSION });
  });

  it('a checkpoint claiming version 999 is refused, naming state.json, the version and the writer', () => {
    const dir = save();
    const file = path.join(dir, 'state.json');
    writeJson(file, { ...readJson(file), version: 999, diffiqaVersion: '9.9.9' });
    expectNewerRefused(() => loadCheckpoint(dir), file);
  });

  it('checkpoints from before versioning load: version 1 without diffiqaVersion (runs/ today), and no version at all', () => {
    for (const drop of [['diffiqaVersion'], ['version', 'diffiqaVersion']]) {
      const dir = save();
      const file = path.join(dir, 'state.json');
      const state = readJson(file);
      for (const k of drop) delete state[k];
      writeJson(file, state);
      const ckpt = loadCheckpoint<{ seed: number }>(dir);
      expect(ckpt.step).toBe(7);
      expect(ckpt.state).toEqual({ seed: 3 });
      expect([...(ckpt.tensors.model?.get('w')?.data ?? [])]).toEqual([1.5, -2]);
    }
  });
});

describe('regressor files (safetensors metadata)', () => {
  const { model } = loadRegressorWeights(TINY_REGRESSOR);
  afterAll(() => model.dispose());
  const save = (): string => {
    const file = fresh('best.safetensors');
    saveRegressorFile(file, model, { labels: { min: 0.2, max: 0.9 }, info: { step: 5 } });
    return file;
  };
  /** Rewrites `file` with its metadata changed by `edit` (tensors untouched). */
  const rewrite = (file: string, edit: (meta: Record<string, string>) => void): void => {
    const { tensors, metadata } = readSafetensors(file);
    edit(metadata);
    fs.writeFileSync(file, encodeSafetensors(tensors, metadata));
  };

  it('a regressor file written now records its format version and the diffiqa version', () => {
    expect(readSafetensors(save()).metadata).toMatchObject({ format: 'diffiqa-regressor', formatVersion: '1', diffiqaVersion: PACKAGE_VERSION });
  });

  it('a regressor file claiming version 999 is refused, naming the file, the version and the writer', () => {
    const file = save();
    rewrite(file, (m) => Object.assign(m, { formatVersion: '999', diffiqaVersion: '9.9.9' }));
    expectNewerRefused(() => readRegressorFile(file), file);
    expectNewerRefused(() => loadRegressorWeights(path.dirname(file)), file); // a run folder: its best.safetensors
  });

  it('a regressor file from before versioning (the same metadata without the version keys) loads', () => {
    const file = save();
    rewrite(file, (m) => {
      delete m.formatVersion;
      delete m.diffiqaVersion;
    });
    expect(Object.keys(readSafetensors(file).metadata).sort()).toEqual(['format', 'info', 'labels', 'spec']);
    const loaded = loadRegressorWeights(file);
    try {
      expect(loaded.meta).toEqual({ spec: model.spec, labels: { min: 0.2, max: 0.9 }, info: { step: 5 } });
    } finally {
      loaded.model.dispose();
    }
  });
});

describe('diffusion UNet safetensors exports', () => {
  const tiny = loadDiffusion(TINY_UNET_PT, { config: { resnetBlockGroups: 2, imageSize: 16 } });
  afterAll(() => tiny.dispose());

  it('an export written now records its format version and the diffiqa version', () => {
    const file = fresh('unet.safetensors');
    fs.writeFileSync(file, encodeUnetSafetensors(tiny.unet, { step: '4', formatVersion: '999' }));
    // Caller metadata (provenance) cannot override the format fields.
    expect(readSafetensors(file).metadata).toMatchObject({ step: '4', format: 'diffiqa-unet', formatVersion: '1', diffiqaVersion: PACKAGE_VERSION });
    loadDiffusion(file).dispose();
  });

  it('an export claiming version 999 is refused, naming the file, the version and the writer', () => {
    const file = fresh('unet.safetensors');
    const { tensors, metadata } = readSafetensors(SHIPPED_UNET);
    fs.writeFileSync(file, encodeSafetensors(tensors, { ...metadata, formatVersion: '999', diffiqaVersion: '9.9.9' }));
    expectNewerRefused(() => loadDiffusion(file), file);
  });

  it('the shipped models/diffusion-cpu-small.safetensors, written before versioning, loads unchanged', () => {
    const before = sha256(SHIPPED_UNET);
    expect(readSafetensors(SHIPPED_UNET).metadata).not.toHaveProperty('formatVersion');
    const model = loadDiffusion(SHIPPED_UNET);
    try {
      expect(model.unet.config).toMatchObject({ dim: 16, dimMults: [1, 2, 4], resnetBlockGroups: 4, imageSize: 112 });
    } finally {
      model.dispose();
    }
    expect(sha256(SHIPPED_UNET)).toBe(before);
  });
});

describe.each(['labels.csv', 'labels.jsonl'])('label / score result files (%s, sidecar <out>.meta.json)', (name) => {
  const row = (p: string, score: number) => ({ path: p, values: { score } });

  it('a result file written now has a sidecar with its format version; the rows are as before', () => {
    const out = fresh(name);
    new ResultWriter(out, ['score']).append([row('a.png', 0.5)], [{ path: 'b.png', error: 'bad' }]);
    expect(readJson(metaFileFor(out))).toEqual({ format: 'diffiqa-results', formatVersion: 1, diffiqaVersion: PACKAGE_VERSION });
    expect(fs.readFileSync(out, 'utf8')).toBe(name.endsWith('.csv') ? 'path,score\na.png,0.5\n' : '{"path":"a.png","score":0.5}\n');
    expect(readResults(out)).toEqual([row('a.png', 0.5)]);
  });

  it('a result file claiming version 999 is refused by every reader, by resume and by merge, and is not touched', () => {
    const out = fresh(name);
    new ResultWriter(out, ['score']).append([row('a.png', 0.5)], [{ path: 'b.png', error: 'bad' }]);
    writeJson(metaFileFor(out), { format: 'diffiqa-results', formatVersion: 999, diffiqaVersion: '9.9.9' });
    fs.appendFileSync(out, 'half a ro'); // what a resuming writer would trim
    const before = fs.readFileSync(out, 'utf8');
    const meta = metaFileFor(out);
    expectNewerRefused(() => readResults(out), meta);
    expectNewerRefused(() => readErrors(out), meta);
    expectNewerRefused(() => new ResultWriter(out, ['score']), meta);
    expectNewerRefused(() => mergeResults([out], fresh(name)), meta);
    expect(fs.readFileSync(out, 'utf8')).toBe(before);
  });

  it('a result file from before versioning (no sidecar) is read, resumed by appending, and merged', () => {
    const old = fresh(name);
    fs.writeFileSync(old, name.endsWith('.csv') ? 'path,score\na.png,0.5\n' : '{"path":"a.png","score":0.5}\n');
    fs.writeFileSync(errorFileFor(old), '{"path":"b.png","error":"bad"}\n');
    expect(readResults(old)).toEqual([row('a.png', 0.5)]);
    expect(readErrors(old)).toEqual([{ path: 'b.png', error: 'bad' }]);
    const merged = fresh(name);
    expect(mergeResults([old], merged)).toEqual({ rows: 1, errors: 1 });
    expect(readJson(metaFileFor(merged))).toMatchObject({ formatVersion: 1, diffiqaVersion: PACKAGE_VERSION });
    // A rerun appends to the old rows (they are version 1 as they stand) and adds the sidecar.
    const before = fs.readFileSync(old, 'utf8');
    new ResultWriter(old, ['score']).append([row('c.png', 0.25)]);
    expect(fs.readFileSync(old, 'utf8').startsWith(before)).toBe(true);
    expect(readResults(old)).toEqual([row('a.png', 0.5), row('c.png', 0.25)]);
    expect(readJson(metaFileFor(old))).toMatchObject({ formatVersion: 1 });
  });
});

describe('the shipped models/training-labels.csv (written before versioning)', () => {
  it('reads unchanged, without a sidecar, with the label columns', () => {
    const before = sha256(SHIPPED_LABELS);
    expect(fs.existsSync(metaFileFor(SHIPPED_LABELS))).toBe(false);
    const rows = readResults(SHIPPED_LABELS);
    expect(rows.length).toBeGreaterThan(100);
    expect(Object.keys(rows[0]!.values)).toEqual([...LABEL_COLUMNS]);
    expect(rows.every((r) => Number.isFinite(r.values.score))).toBe(true);
    expect(sha256(SHIPPED_LABELS)).toBe(before);
    expect(fs.existsSync(metaFileFor(SHIPPED_LABELS))).toBe(false);
  });
});

describe('experiment state (<out>/stages.json)', () => {
  const quiet = (): void => undefined;
  const runStage = async (file: string): Promise<boolean> => {
    let ran = false;
    await new StageLog(file, quiet).run('label', { seed: 1 }, async () => {
      ran = true;
    });
    return ran;
  };

  it('a stage log written now records its format version and the diffiqa version', async () => {
    const file = fresh('stages.json');
    expect(await runStage(file)).toBe(true);
    expect(readJson(file)).toMatchObject({ format: 'diffiqa-stages', formatVersion: 1, diffiqaVersion: PACKAGE_VERSION, stages: [{ name: 'label' }] });
  });

  it('a stage log claiming version 999 is refused, naming the file, the version and the writer', async () => {
    const file = fresh('stages.json');
    await runStage(file);
    writeJson(file, { ...readJson(file), formatVersion: 999, diffiqaVersion: '9.9.9' });
    expectNewerRefused(() => new StageLog(file, quiet), file);
  });

  it('a stage log from before versioning ({stages} only) is read: its finished stage is skipped', async () => {
    const file = fresh('stages.json');
    await runStage(file);
    writeJson(file, { stages: readJson(file).stages });
    expect(await runStage(file)).toBe(false);
  });
});
