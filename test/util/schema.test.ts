import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/util/errors.js';
import { loadConfigFile, s } from '../../src/util/schema.js';

const schema = s.object({
  name: s.string(),
  unet: s.object({
    dim: s.int({ positive: true }),
    dimMults: s.array(s.int({ positive: true }), { minLength: 1 }),
  }),
  lr: s.opt(s.number({ positive: true }), 1e-3),
  mode: s.opt(s.enum(['fixed', 'recompute'] as const), 'fixed'),
});

function tmpYaml(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('config schema', () => {
  it('parses, applies defaults and merges extends + overrides', () => {
    const base = tmpYaml('base.yaml', 'name: base\nunet: {dim: 8, dimMults: [1, 2]}\nlr: 0.5\n');
    const child = path.join(path.dirname(base), 'child.yaml');
    fs.writeFileSync(child, 'extends: base.yaml\nname: child\nunet: {dim: 16}\n');
    const cfg = loadConfigFile(schema, child, { mode: 'recompute' });
    expect(cfg).toEqual({ name: 'child', unet: { dim: 16, dimMults: [1, 2] }, lr: 0.5, mode: 'recompute' });
  });

  it('names the file and dotted path of an ill-typed field', () => {
    const file = tmpYaml('bad.yaml', 'name: x\nunet: {dim: 8, dimMults: [1, 2, "4x"]}\n');
    expect(() => loadConfigFile(schema, file)).toThrow(ConfigError);
    expect(() => loadConfigFile(schema, file)).toThrow(`${file}: unet.dimMults[2]: expected a positive integer, got "4x"`);
  });

  it('rejects an unknown field by name', () => {
    const file = tmpYaml('unknown.yaml', 'name: x\nunet: {dim: 8, dimMults: [1], dimz: 3}\n');
    expect(() => loadConfigFile(schema, file)).toThrow(/unet\.dimz: unknown field/);
  });

  it('reports missing required fields, bad enums and malformed YAML', () => {
    expect(() => loadConfigFile(schema, tmpYaml('m.yaml', 'name: x\n'))).toThrow(/unet: missing required field/);
    expect(() => loadConfigFile(schema, tmpYaml('e.yaml', 'name: x\nunet: {dim: 1, dimMults: [1]}\nmode: other\n'))).toThrow(
      /mode: expected one of "fixed", "recompute", got "other"/,
    );
    expect(() => loadConfigFile(schema, tmpYaml('y.yaml', 'name: [x\n'))).toThrow(/invalid YAML/);
    expect(() => loadConfigFile(schema, '/nonexistent/cfg.yaml')).toThrow(/\/nonexistent\/cfg.yaml: cannot read config/);
  });
});
