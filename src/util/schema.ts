/**
 * A tiny typed schema builder for configs. A schema both validates a parsed YAML/JSON value and gives the
 * TypeScript type (`Infer<typeof schema>`), so type and validation cannot drift. Errors name the file and
 * the dotted path: `configs/diffusion/cpu-small.yaml: unet.dimMults[2]: expected a positive integer, got "4x"`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import yaml from 'js-yaml';
import { ConfigError, previewValue } from './errors.js';

/** Validates `value` at dotted `path`; returns the typed, defaulted value or throws ConfigError. */
export interface Schema<T> {
  parse(value: unknown, path: string, file: string): T;
  /** Human description of what is expected, used in error messages. */
  readonly expected: string;
  /** Whether a missing value is allowed (a default exists or the field is optional). */
  readonly hasDefault?: boolean;
  /** What to tell the user when the field is missing (given its dotted path); default "missing required field". */
  readonly missing?: (path: string) => string;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** The offending value, shortened: YAML aliases can make a value cyclic or exponentially large. */
function show(value: unknown): string {
  return previewValue(value);
}

function fail(file: string, path: string, expected: string, value: unknown): never {
  throw new ConfigError(file, path, `expected ${expected}, got ${show(value)}`);
}

function withDefault<T>(inner: Schema<T>, def: T): Schema<T> {
  return {
    expected: inner.expected,
    hasDefault: true,
    parse: (v, p, f) => (v === undefined ? def : inner.parse(v, p, f)),
  };
}

interface NumberOpts {
  min?: number;
  max?: number;
  int?: boolean;
  positive?: boolean;
}

function numberSchema(opts: NumberOpts = {}): Schema<number> {
  const parts = [opts.int ? 'an integer' : 'a number'];
  if (opts.positive) parts[0] = opts.int ? 'a positive integer' : 'a positive number';
  if (opts.min !== undefined) parts.push(`>= ${opts.min}`);
  if (opts.max !== undefined) parts.push(`<= ${opts.max}`);
  const expected = parts.join(' ');
  return {
    expected,
    parse(v, p, f) {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(f, p, expected, v);
      if (opts.int && !Number.isInteger(v)) fail(f, p, expected, v);
      if (opts.positive && v <= 0) fail(f, p, expected, v);
      if (opts.min !== undefined && v < opts.min) fail(f, p, expected, v);
      if (opts.max !== undefined && v > opts.max) fail(f, p, expected, v);
      return v;
    },
  };
}

/** Schema builders. Each returns a Schema; `.default(x)` variants via `s.opt`. */
export const s = {
  number: (opts?: NumberOpts) => numberSchema(opts),
  int: (opts: Omit<NumberOpts, 'int'> = {}) => numberSchema({ ...opts, int: true }),
  string: (): Schema<string> => ({
    expected: 'a string',
    parse: (v, p, f) => (typeof v === 'string' ? v : fail(f, p, 'a string', v)),
  }),
  boolean: (): Schema<boolean> => ({
    expected: 'true or false',
    parse: (v, p, f) => (typeof v === 'boolean' ? v : fail(f, p, 'true or false', v)),
  }),
  enum: <const T extends string>(values: readonly T[]): Schema<T> => {
    const expected = `one of ${values.map((x) => `"${x}"`).join(', ')}`;
    return {
      expected,
      parse: (v, p, f) => (values.includes(v as T) ? (v as T) : fail(f, p, expected, v)),
    };
  },
  array: <T>(item: Schema<T>, opts: { minLength?: number; length?: number } = {}): Schema<T[]> => {
    const expected = `a list of ${item.expected}${opts.length !== undefined ? ` with ${opts.length} items` : ''}`;
    return {
      expected,
      parse(v, p, f) {
        if (!Array.isArray(v)) fail(f, p, expected, v);
        if (opts.length !== undefined && v.length !== opts.length) fail(f, p, expected, v);
        if (opts.minLength !== undefined && v.length < opts.minLength)
          fail(f, p, `${expected} (at least ${opts.minLength})`, v);
        return v.map((x, i) => item.parse(x, `${p}[${i}]`, f));
      },
    };
  },
  /** A nullable value: `null` stays null. */
  nullable: <T>(inner: Schema<T>): Schema<T | null> => ({
    expected: `${inner.expected} or null`,
    parse: (v, p, f) => (v === null ? null : inner.parse(v, p, f)),
  }),
  /** The field may be omitted; then it takes `def`. */
  opt: withDefault,
  /**
   * A required field whose absence gets its own message (`hint(path)`), for settings with no sensible default such
   * as a dataset location: saying what to set beats a bare "missing required field".
   */
  required: <T>(inner: Schema<T>, hint: (path: string) => string): Schema<T> => ({
    expected: inner.expected,
    missing: hint,
    parse: (v, p, f) => inner.parse(v, p, f),
  }),
  /** A fixed-key object; unknown keys are an error naming them. */
  object: <Shape extends Record<string, Schema<unknown>>>(
    shape: Shape,
  ): Schema<{ [K in keyof Shape]: Infer<Shape[K]> }> => ({
    expected: 'a mapping',
    hasDefault: Object.values(shape).every((x) => x.hasDefault),
    parse(v, p, f) {
      const obj = v === undefined && Object.values(shape).every((x) => x.hasDefault) ? {} : v;
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail(f, p, 'a mapping', v);
      const src = obj as Record<string, unknown>;
      for (const key of Object.keys(src)) {
        // Own keys only: `constructor` or `__proto__` in a file are unknown fields, not Object.prototype's.
        if (!Object.hasOwn(shape, key)) {
          throw new ConfigError(f, join(p, key), `unknown field; expected one of: ${Object.keys(shape).join(', ')}`);
        }
      }
      const out: Record<string, unknown> = {};
      for (const [key, schema] of Object.entries(shape)) {
        const fieldPath = join(p, key);
        const value = Object.hasOwn(src, key) ? src[key] : undefined;
        if (value === undefined && !schema.hasDefault) {
          throw new ConfigError(f, fieldPath, schema.missing?.(fieldPath) ?? `missing required field (${schema.expected})`);
        }
        out[key] = schema.parse(value, fieldPath, f);
      }
      return out as { [K in keyof Shape]: Infer<Shape[K]> };
    },
  }),
};

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

/** Mappings merge this many levels deep; below, the override replaces (YAML aliases can make both sides cyclic). */
const MAX_MERGE_DEPTH = 64;

/**
 * Deep merge for `extends:` bases and CLI overrides: objects merge, everything else replaces. Keys are own data
 * properties, so a `__proto__` key in a file stays a key (and fails validation) instead of replacing a prototype.
 */
export function deepMerge(base: unknown, over: unknown, depth = 0): unknown {
  if (isPlainObject(base) && isPlainObject(over) && depth < MAX_MERGE_DEPTH) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      const value = deepMerge(Object.hasOwn(base, k) ? base[k] : undefined, v, depth + 1);
      Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return over === undefined ? base : over;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads a YAML file, follows `extends:` (relative to the file), merges `overrides`, and validates with
 * `schema`. Every failure is a ConfigError naming the file.
 */
export function loadConfigFile<T>(schema: Schema<T>, file: string, overrides: unknown = {}): T {
  const raw = readYamlWithExtends(file, new Set());
  return schema.parse(deepMerge(raw, overrides), '', file);
}

function readYamlWithExtends(file: string, seen: Set<string>): unknown {
  if (seen.has(file)) throw new ConfigError(file, 'extends', 'circular extends');
  seen.add(file);
  let text: string;
  try {
    // A regular file only: `extends: /dev/zero` (or a FIFO) would never finish reading.
    if (!fs.statSync(file).isFile()) throw new Error('not a regular file');
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read config: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text) ?? {};
  } catch (err) {
    throw new ConfigError(file, '', `invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isPlainObject(doc)) throw new ConfigError(file, '', `expected a mapping at the top level`);
  const { extends: parent, ...rest } = doc;
  if (parent === undefined) return rest;
  if (typeof parent !== 'string') throw new ConfigError(file, 'extends', `expected a file path, got ${show(parent)}`);
  // Relative to the real file (a symlinked config finds its base beside the target); never parsed as a URL.
  const parentPath = path.resolve(path.dirname(fs.realpathSync(file)), parent);
  return deepMerge(readYamlWithExtends(parentPath, seen), rest);
}

/**
 * Folds `key.path=value` strings (`--set`, or a config's `set:` list) into one nested override object. Values
 * parse as YAML scalars/lists, so `unet.dimMults=[1,2]` works.
 * @throws ConfigError naming `origin` and the item for a malformed item or value
 */
export function parseOverrides(sets: readonly string[] | undefined, origin = '--set'): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const item of sets ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(origin, item, 'expected key.path=value');
    const keys = item.slice(0, eq).split('.');
    let value: unknown;
    try {
      value = yaml.load(item.slice(eq + 1));
    } catch (err) {
      throw new ConfigError(origin, item.slice(0, eq), `cannot parse value: ${(err as Error).message.split('\n')[0]}`);
    }
    const nested = keys.reduceRight<unknown>((acc, k) => ({ [k]: acc }), value) as Record<string, unknown>;
    out = deepMerge(out, nested) as Record<string, unknown>;
  }
  return out;
}
