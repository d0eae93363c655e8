import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../src/util/errors.js';
import { dottedPath, loadConfigFile, parseConfig } from '../../src/util/schema.js';

const schema = z.strictObject({
  name: z.string(),
  unet: z.strictObject({
    dim: z.int().positive(),
    dimMults: z.array(z.int().positive()).min(1),
  }),
  lr: z.number().positive().default(1e-3),
  mode: z.enum(['fixed', 'recompute']).default('fixed'),
});

function tmpYaml(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** The ConfigError that parsing `value` as file `f.yaml` throws. */
function errorOf(s: z.ZodType, value: unknown): ConfigError {
  try {
    parseConfig(s, value, 'f.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('parsed without an error');
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

describe('zod issues as ConfigErrors', () => {
  it('names file, dotted path, what the schema expects and what was found', () => {
    const bounded = z.strictObject({ train: z.strictObject({ lr: z.number().positive(), beta: z.number().min(0).max(1), n: z.int().positive().max(600) }) });
    const good = { lr: 1, beta: 0.5, n: 3 };
    expect(errorOf(bounded, { train: { ...good, lr: 'abc' } }).message).toBe('f.yaml: train.lr: expected a positive number, got "abc"');
    expect(errorOf(bounded, { train: { ...good, beta: 2 } }).message).toBe('f.yaml: train.beta: expected a number >= 0 <= 1, got 2');
    expect(errorOf(bounded, { train: { ...good, n: 2.5 } }).message).toBe('f.yaml: train.n: expected a positive integer <= 600, got 2.5');
    const err = errorOf(bounded, { train: { ...good, n: 0 } });
    expect([err.file, err.path]).toEqual(['f.yaml', 'train.n']);
  });

  it('describes lists, nullable fields and mappings, and lists the valid keys of an unknown one', () => {
    const s = z.strictObject({
      pair: z.array(z.int().min(0)).length(2),
      some: z.array(z.string()).min(1),
      init: z.string().nullable().default(null),
      section: z.strictObject({ a: z.int(), b: z.boolean().default(false) }).nullable().default(null),
    });
    const ok = { pair: [0, 1], some: ['x'] };
    expect(errorOf(s, { ...ok, pair: [1] }).message).toBe('f.yaml: pair: expected a list of an integer >= 0 with 2 items, got [1]');
    expect(errorOf(s, { ...ok, some: [] }).message).toBe('f.yaml: some: expected a list of a string with at least 1 item, got []');
    expect(errorOf(s, { ...ok, init: 5 }).message).toBe('f.yaml: init: expected a string or null, got 5');
    expect(errorOf(s, { ...ok, section: 'x' }).message).toBe('f.yaml: section: expected a mapping or null, got "x"');
    expect(errorOf(s, { ...ok, section: { a: 1, c: 2 } }).message).toBe('f.yaml: section.c: unknown field; expected one of: a, b');
    expect(errorOf(s, { ...ok, section: { b: 'yes' } }).message).toBe('f.yaml: section.a: missing required field (an integer)');
  });

  it('reports a misspelt key before the field it leaves missing', () => {
    // zod lists `unet.dimMults` (missing) first; the unknown `dimMult` beside it is the real mistake.
    expect(errorOf(schema, { name: 'x', unet: { dim: 8, dimMult: [1] } }).message).toBe(
      'f.yaml: unet.dimMult: unknown field; expected one of: dim, dimMults',
    );
  });

  it('keeps a message that the schema gives itself, with the full path', () => {
    const located = z.strictObject({
      data: z.strictObject({ lfw: z.string({ error: (i) => (i.input === undefined ? `set ${dottedPath(i.path ?? [])}` : undefined) }) }),
    });
    expect(errorOf(located, { data: {} }).message).toBe('f.yaml: data.lfw: set data.lfw');
    expect(errorOf(located, { data: { lfw: 3 } }).message).toBe('f.yaml: data.lfw: expected a string, got 3');
  });

  it('previews a cyclic value instead of recursing into it', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(errorOf(schema, { name: 'x', unet: { dim: cyclic, dimMults: [1] } }).message).toMatch(/^f\.yaml: unet\.dim: expected a positive integer, got \[\[\[/);
  });

  it('writes paths with dots and brackets', () => {
    expect(dottedPath(['unet', 'dimMults', 2])).toBe('unet.dimMults[2]');
    expect(dottedPath(['regressors', 0, 'name'])).toBe('regressors[0].name');
    expect(dottedPath([])).toBe('');
  });
});
