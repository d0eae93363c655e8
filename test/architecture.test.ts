/**
 * Keeps the dependency arrows of STYLE §2.1 honest by scanning import lines:
 *   cli -> experiment -> {pipelines, train, eval, report} -> {diffusion, regressor -> fr} -> backend -> util,
 *   and {pipelines, train, eval} -> data. Models (diffusion, regressor, fr, nn) never import data, train,
 *   pipelines, eval, report or cli; nothing imports cli; only src/backend imports tfjs-core directly. cli -> serve
 *   -> {export, fr, data, models}: the browser scorer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '../src');

/** Folders each folder must not import from. */
const FORBIDDEN: Record<string, readonly string[]> = {
  util: ['backend', 'nn', 'io', 'data', 'diffusion', 'fr', 'regressor', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  backend: ['nn', 'io', 'data', 'diffusion', 'fr', 'regressor', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  nn: ['io', 'data', 'diffusion', 'fr', 'regressor', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  io: ['data', 'diffusion', 'fr', 'regressor', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  diffusion: ['data', 'fr', 'regressor', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  fr: ['diffusion', 'regressor', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  regressor: ['data', 'diffusion', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  data: ['diffusion', 'fr', 'regressor', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  train: ['cli', 'report', 'experiment'],
  pipelines: ['cli', 'train', 'experiment'],
  eval: ['cli', 'train', 'pipelines', 'experiment'],
  report: ['cli', 'train', 'experiment'],
  experiment: ['cli'],
  // Exporters read a regressor and write files: model-level inputs only, no data pipeline.
  export: ['data', 'diffusion', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  // The browser scorer: assembles and serves a page from the exporter, the pure fr/data modules and the shipped model.
  serve: ['diffusion', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
  // The shipped-model files and their manifest: paths and checksums only, loaded by the callers.
  models: ['backend', 'nn', 'io', 'data', 'diffusion', 'fr', 'regressor', 'train', 'pipelines', 'eval', 'report', 'cli', 'experiment'],
};

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
}

describe('architecture', () => {
  const files = tsFiles(SRC);

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('respects the dependency arrows between source folders', () => {
    const violations: string[] = [];
    for (const file of files) {
      const folder = path.relative(SRC, file).split(path.sep)[0] as string;
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const target = path.relative(SRC, path.resolve(path.dirname(file), spec)).split(path.sep)[0] as string;
        if (target !== folder && (FORBIDDEN[folder] ?? []).includes(target)) {
          violations.push(`${path.relative(SRC, file)} imports ${spec} (${folder} -> ${target})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('takes tf from src/backend only', () => {
    const direct = files
      .filter((f) => !path.relative(SRC, f).startsWith('backend'))
      .filter((f) => importsOf(f).some((s) => s === '@tensorflow/tfjs-core' || s === '@tensorflow/tfjs-backend-cpu'))
      .map((f) => path.relative(SRC, f));
    expect(direct).toEqual([]);
  });
});
