/**
 * Every config file under configs/ loads and validates (a typo in a key or a value out of range is a ConfigError
 * naming the file), and a few values that the shipped models and the README depend on are what they say.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDiffusionConfig } from '../src/diffusion/config.js';
import { loadExperimentConfig } from '../src/experiment/config.js';
import { loadFiducialTemplate } from '../src/fr/fiducials.js';
import { loadRegressorConfig } from '../src/regressor/config.js';

const CONFIGS = path.resolve(import.meta.dirname, '..', 'configs');
const yamlIn = (dir: string): string[] =>
  fs.readdirSync(path.join(CONFIGS, dir)).filter((f) => f.endsWith('.yaml') && !f.startsWith('_')).map((f) => path.join(CONFIGS, dir, f));

describe('configs/', () => {
  it('has no folder or file that this test does not load', () => {
    expect(fs.readdirSync(CONFIGS).sort()).toEqual(['demo', 'diffusion', 'experiments', 'fr', 'regressor']);
    expect(fs.readdirSync(path.join(CONFIGS, 'fr'))).toEqual(['cfp-fiducial-template.json']);
    expect(fs.readdirSync(path.join(CONFIGS, 'demo')).sort()).toEqual(['diffusion.yaml', 'regressor.yaml']);
  });

  it('loads every diffusion config', () => {
    const byName = Object.fromEntries([...yamlIn('diffusion'), path.join(CONFIGS, 'demo/diffusion.yaml')].map((f) => [path.relative(CONFIGS, f), loadDiffusionConfig(f)]));
    expect(Object.keys(byName).sort()).toEqual(['demo/diffusion.yaml', 'diffusion/cpu-small.yaml', 'diffusion/paper.yaml', 'diffusion/shipped.yaml']);
    expect(byName['diffusion/paper.yaml']!.unet.dim).toBe(128);
    const shipped = byName['diffusion/shipped.yaml']!;
    expect(shipped.unet).toEqual(byName['diffusion/cpu-small.yaml']!.unet);
    expect(shipped.data.folder).toBe('runs/shipped/faces/lfw');
    for (const c of Object.values(byName)) expect([c.diffusion.schedule, c.diffusion.timesteps]).toEqual(['cosine', 1000]);
  });

  it('loads the CFP fiducial template', () => {
    const t = loadFiducialTemplate(path.join(CONFIGS, 'fr', 'cfp-fiducial-template.json'));
    expect(Object.keys(t).length).toBeGreaterThan(0);
  });

  it('loads every regressor and experiment config', () => {
    for (const f of [...yamlIn('regressor'), path.join(CONFIGS, 'demo/regressor.yaml')]) expect(() => loadRegressorConfig(f), f).not.toThrow();
    expect(loadRegressorConfig(path.join(CONFIGS, 'demo/regressor.yaml')).train.epochs).toBe(60);
    const experiments = yamlIn('experiments');
    expect(experiments.map((f) => path.basename(f)).sort()).toEqual(['full-protocol.yaml', 'lfw-cfp.yaml']);
    for (const f of experiments) expect(() => loadExperimentConfig(f), f).not.toThrow();
  });
});
