import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRegressorConfig, resolveRegressorSpec } from '../../src/regressor/config.js';
import { describeSpec } from '../../src/regressor/spec.js';
import { ConfigError } from '../../src/util/errors.js';

const dir = fileURLToPath(new URL('../../configs/regressor/', import.meta.url));

describe('configs/regressor', () => {
  it('every config validates and resolves to the intended model', () => {
    const want: Record<string, string> = {
      'diffiqa-r.yaml': 'diffiqa-r/r100',
      'diffiqa-r-mobileface.yaml': 'diffiqa-r/mobileface',
      'ediffiqa-t.yaml': 'ediffiqa/mfn',
      'ediffiqa-s.yaml': 'ediffiqa/r18',
      'ediffiqa-m.yaml': 'ediffiqa/r50',
      'ediffiqa-l.yaml': 'ediffiqa/r100',
      'ediffiqa-mobileface.yaml': 'ediffiqa/mobileface',
      'shipped-ediffiqa.yaml': 'ediffiqa/mobileface',
      'shipped-diffiqa-r.yaml': 'diffiqa-r/mobileface',
    };
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.startsWith('_'));
    expect(files.sort()).toEqual(Object.keys(want).sort());
    for (const f of files) {
      const cfg = loadRegressorConfig(path.join(dir, f));
      expect(describeSpec(resolveRegressorSpec(cfg)), f).toBe(want[f]);
      const settings = [cfg.train.batchSize, cfg.train.headLr, cfg.train.backboneLr, cfg.train.trainableTensors, cfg.train.clipGradNorm, cfg.train.epochs, cfg.data.flipProb];
      if (f.startsWith('shipped-')) {
        // The shipped models' settings, chosen on validation identities (models/ediffiqa.md, "Settings").
        expect(settings, f).toEqual([128, 1e-3, 3e-4, 1000, 5, 20, 0.5]);
      } else {
        // Reference settings from the shared base (METHOD §3, §4.4).
        expect(settings, f).toEqual([128, 1e-3, 1e-4, 100, 5, f.startsWith('ediffiqa') ? 3 : 1, 0]);
      }
    }
  });

  it('a bad value or unknown key names the file and the dotted path', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regcfg-'));
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, `extends: ${path.join(dir, '_base.yaml')}\nmodel: {kind: ediffiqa, backbone: r50}\nediffiqa: {theta: 2}\n`);
    expect(() => loadRegressorConfig(bad)).toThrow(ConfigError);
    expect(() => loadRegressorConfig(bad)).toThrow(/bad\.yaml: ediffiqa\.theta: expected a number >= 0 <= 1, got 2/);
    fs.writeFileSync(bad, `model: {kind: diffiqa-r, backbone: iresnet}\ntrain: {}\n`);
    expect(() => loadRegressorConfig(bad)).toThrow(/model\.iresnet: required/);
    fs.writeFileSync(bad, `model: {kind: diffiqa-r, backbone: r50, head: 3}\ntrain: {}\n`);
    expect(() => loadRegressorConfig(bad)).toThrow(/model\.head: unknown field/);
  });
});
