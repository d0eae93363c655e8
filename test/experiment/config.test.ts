/**
 * Dataset locations in experiment configs (README "Datasets"): no default points at the development folder
 * ../shared/data, a config that lacks one is refused at load saying what to set, and `--set` overrides one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { ConfigError } from '../../src/util/errors.js';
import { parseOverrides } from '../../src/util/schema.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-config-'));

function writeConfig(name: string, body: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, body);
  return file;
}

const HEAD = 'out: runs/x\nregressors: []\n';
const DATA = 'data: { lfw: /d/lfw, cfp: /d/cfp }\n';
const DIFFUSION = "diffusion: { config: configs/diffusion/cpu-small.yaml, data: '/d/cfp/Data/Images/*/frontal/*.jpg' }\n";

/** The ConfigError that loading `file` (with `sets` as --set) throws. */
function loadError(file: string, sets: string[] = []): ConfigError {
  try {
    loadExperimentConfig(file, parseOverrides(sets));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`${file} loaded without an error`);
}

describe('experiment config dataset locations', () => {
  it('refuses a config without a data section, naming the file and what to set', () => {
    const file = writeConfig('no-data.yaml', HEAD + DIFFUSION);
    const err = loadError(file);
    expect(err.file).toBe(file);
    expect(err.path).toBe('data');
    expect(err.message).toContain(`${file}: data: no dataset locations`);
    expect(err.message).toContain('--set data.lfw=');
    expect(err.message).toContain('--set data.cfp=');
    expect(err.message).toContain('README "Datasets"');
  });

  it('refuses a missing, null or empty data.lfw with a message naming the dotted field', () => {
    for (const [name, lfw] of [['missing', ''], ['null', 'lfw: null, '], ['empty', "lfw: '', "]] as const) {
      const file = writeConfig(`lfw-${name}.yaml`, `${HEAD}data: { ${lfw}cfp: /d/cfp }\n${DIFFUSION}`);
      const err = loadError(file);
      expect(err.path, name).toBe('data.lfw');
      expect(err.message, name).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: data\\.lfw: no dataset location: set data\\.lfw to the aligned 112x112 LFW folder`));
      expect(err.message, name).toContain('--set data.lfw=/path/to/lfw-112');
    }
  });

  it('refuses a missing data.cfp and diffusion.data', () => {
    expect(loadError(writeConfig('no-cfp.yaml', `${HEAD}data: { lfw: /d/lfw }\n${DIFFUSION}`)).message).toContain(
      'data.cfp: no dataset location: set data.cfp to the CFP folder',
    );
    const err = loadError(writeConfig('no-diffusion-data.yaml', `${HEAD}${DATA}diffusion: { config: configs/diffusion/cpu-small.yaml }\n`));
    expect(err.path).toBe('diffusion.data');
    expect(err.message).toContain('--set diffusion.data=');
  });

  it('never falls back to the development folder', () => {
    // Every location given but one: the error, not a path under ../shared/data, is what comes back.
    const file = writeConfig('partial.yaml', `${HEAD}data: { cfp: /d/cfp }\n${DIFFUSION}`);
    expect(() => loadExperimentConfig(file)).toThrow(ConfigError);
  });

  it('takes the locations from --set overrides alone', () => {
    const file = writeConfig('sets-only.yaml', `${HEAD}diffusion: { config: configs/diffusion/cpu-small.yaml }\n`);
    const cfg = loadExperimentConfig(file, parseOverrides(['data.lfw=/users/lfw-112', 'data.cfp=/users/cfp', 'diffusion.data=/users/cfp/Data/Images/*/frontal/*.jpg']));
    expect(cfg.data).toEqual({ lfw: '/users/lfw-112', cfp: '/users/cfp', cfpAligned: null });
    expect(cfg.diffusion.data).toBe('/users/cfp/Data/Images/*/frontal/*.jpg');
  });

  it('lets --set replace a location given in the file, including the shipped configs', () => {
    const own = loadExperimentConfig(writeConfig('full.yaml', HEAD + DATA + DIFFUSION), parseOverrides(['data.lfw=/elsewhere/lfw']));
    expect(own.data).toEqual({ lfw: '/elsewhere/lfw', cfp: '/d/cfp', cfpAligned: null });
    for (const shipped of ['configs/experiments/lfw-cfp.yaml', 'configs/experiments/full-protocol.yaml']) {
      const cfg = loadExperimentConfig(shipped, parseOverrides(['data.lfw=/my/lfw-112', 'data.cfp=/my/cfp']));
      expect(cfg.data, shipped).toMatchObject({ lfw: '/my/lfw-112', cfp: '/my/cfp' });
    }
  });
});
