/** `--set a.b.c=value` config overrides: values parse as YAML scalars/lists, so `--set unet.dimMults=[1,2]` works. */
import yaml from 'js-yaml';
import { ConfigError } from '../util/errors.js';
import { deepMerge } from '../util/schema.js';

/** Folds `key=value` strings into one nested override object. */
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
