/**
 * Config files: YAML with `extends:` bases, merged with overrides, validated by a zod schema (one per config,
 * beside its owner: src/diffusion/config.ts, src/regressor/config.ts, src/experiment/config.ts; their types are
 * inferred from it). A failure is one ConfigError naming the file and the dotted path, in diffiqa's words:
 * `configs/diffusion/cpu-small.yaml: unet.dimMults[2]: expected a positive integer, got "4x"`.
 *
 * What a field expects is read off the schema itself (zod's JSON Schema of it), so the message cannot drift from
 * the rule; a schema that knows better (a dataset location saying what to set) gives its own zod `error`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { ConfigError, previewValue } from './errors.js';

/** `['unet', 'dimMults', 2]` → `unet.dimMults[2]`, the path form of every config message. */
export function dottedPath(keys: readonly PropertyKey[]): string {
  return keys.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${String(k)}` : String(k)), '');
}

/**
 * Validates `value` (the merged YAML of `file`) with `schema`; returns the typed value with defaults filled in.
 * @throws ConfigError naming `file` and the dotted path: an unknown field first (a misspelt key also explains a
 *   "missing" one), else the first problem in schema order
 */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, file: string): z.output<S> {
  let json: JsonSchema | undefined;
  const fieldAt = (keys: readonly PropertyKey[]): JsonSchema => schemaAt((json ??= toJsonSchema(schema)), keys);
  const result = schema.safeParse(value, { error: (issue) => describeIssue(issue, fieldAt) });
  if (result.success) return result.data;
  const { issues } = result.error;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? (issues[0] as z.core.$ZodIssue);
  const keys = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] as string] : issue.path;
  throw new ConfigError(file, dottedPath(keys), issue.message);
}

// ---- messages -------------------------------------------------------------------------------------------------

/** The subset of JSON Schema that zod emits for config schemas and that messages read. */
interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
}

function toJsonSchema(schema: z.ZodType): JsonSchema {
  // `io: 'input'`: what a file may hold (a field with a default is optional); refinements are not representable.
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/** The schema of the field at `keys`, looking through nullable wrappers; {} when the path leaves the schema. */
function schemaAt(root: JsonSchema, keys: readonly PropertyKey[]): JsonSchema {
  let node = root;
  for (const key of keys) {
    const branch = (node.anyOf ?? [node]).find((b) => (typeof key === 'number' ? b.items : b.properties));
    const next = typeof key === 'number' ? branch?.items : branch?.properties?.[String(key)];
    if (!next) return {};
    node = next;
  }
  return node;
}

/** The message of one zod issue (the zod error map of parseConfig); the path is added by the ConfigError. */
function describeIssue(issue: z.core.$ZodRawIssue, fieldAt: (keys: readonly PropertyKey[]) => JsonSchema): string {
  const keys = issue.path ?? [];
  if (issue.code === 'unrecognized_keys') {
    const mapping = fieldAt(keys);
    const properties = (mapping.anyOf ?? [mapping]).find((b) => b.properties)?.properties ?? {};
    return `unknown field; expected one of: ${Object.keys(properties).join(', ')}`;
  }
  const expected = describeSchema(fieldAt(keys));
  if (issue.input === undefined) return `missing required field (${expected})`;
  return `expected ${expected}, got ${previewValue(issue.input)}`;
}

/** What a schema accepts, in words: "a positive integer", "a number >= 0 <= 1", "a list of a string or null". */
function describeSchema(s: JsonSchema): string {
  if (s.anyOf) return s.anyOf.map(describeSchema).join(' or ');
  const types = [s.type ?? []].flat();
  const nullable = types.includes('null');
  const values = s.enum?.filter((v) => v !== null);
  let text: string;
  if (values) text = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  else if (types.includes('integer') || types.includes('number')) text = describeNumber(s, types.includes('integer'));
  else if (types.includes('string')) text = s.minLength ? 'a non-empty string' : 'a string';
  else if (types.includes('boolean')) text = 'true or false';
  else if (types.includes('array')) text = describeList(s);
  else if (types.includes('object')) text = 'a mapping';
  else if (nullable) return 'null';
  else text = 'a valid value';
  return nullable ? `${text} or null` : text;
}

function describeNumber(s: JsonSchema, int: boolean): string {
  const noun = int ? 'integer' : 'number';
  // z.int() bounds itself to the safe integers: not worth a mention.
  const bound = (v: number | undefined): v is number => v !== undefined && Math.abs(v) !== Number.MAX_SAFE_INTEGER;
  const parts = [s.exclusiveMinimum === 0 ? `a positive ${noun}` : int ? 'an integer' : 'a number'];
  if (bound(s.exclusiveMinimum) && s.exclusiveMinimum !== 0) parts.push(`> ${s.exclusiveMinimum}`);
  if (bound(s.minimum)) parts.push(`>= ${s.minimum}`);
  if (bound(s.maximum)) parts.push(`<= ${s.maximum}`);
  if (bound(s.exclusiveMaximum)) parts.push(`< ${s.exclusiveMaximum}`);
  return parts.join(' ');
}

function describeList(s: JsonSchema): string {
  const of = s.items ? ` of ${describeSchema(s.items)}` : '';
  const items = (n: number): string => `${n} item${n === 1 ? '' : 's'}`;
  if (s.minItems !== undefined && s.minItems === s.maxItems) return `a list${of} with ${items(s.minItems)}`;
  const size = [s.minItems ? `at least ${items(s.minItems)}` : '', s.maxItems !== undefined ? `at most ${items(s.maxItems)}` : ''].filter(Boolean);
  return `a list${of}${size.length ? ` with ${size.join(' and ')}` : ''}`;
}

// ---- files ------------------------------------------------------------------------------------------------------

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
export function loadConfigFile<S extends z.ZodType>(schema: S, file: string, overrides: unknown = {}): z.output<S> {
  const raw = readYamlWithExtends(file, new Set());
  return parseConfig(schema, deepMerge(raw, overrides), file);
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
  if (typeof parent !== 'string') throw new ConfigError(file, 'extends', `expected a file path, got ${previewValue(parent)}`);
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
