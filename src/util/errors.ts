/**
 * Error classes for diffiqa. Every error names its culprit (a file, a config path, a backend, a shape) so
 * that the CLI can print one clear line. Library code throws these; only `src/cli` catches them.
 */

/** Base class of every error this project raises on purpose; `code` is a stable machine-readable tag. */
export class DiffiqaError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config file or option is malformed: `file` is where it came from, `path` the dotted field path. */
export class ConfigError extends DiffiqaError {
  constructor(
    readonly file: string,
    readonly path: string,
    reason: string,
  ) {
    super(`${file}${path ? `: ${path}` : ''}: ${reason}`, 'E_CONFIG');
  }
}

/** An input file (image, label file, pair list) cannot be used. */
export class DataError extends DiffiqaError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`, 'E_DATA');
  }
}

/** A checkpoint or weight file is missing, corrupt, or lacks/mismatches a key. */
export class CheckpointError extends DiffiqaError {
  constructor(
    readonly file: string,
    readonly key: string,
    reason: string,
  ) {
    super(`${file}${key ? ` [${key}]` : ''}: ${reason}`, 'E_CHECKPOINT');
  }
}

/**
 * A file records a format version this diffiqa cannot read (newer than it knows, or malformed); see
 * src/util/format-version.ts. The message names the file, its version and the diffiqa version that wrote it.
 */
export class FormatVersionError extends DiffiqaError {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`, 'E_FORMAT_VERSION');
  }
}

/** A compute backend is unavailable or failed to initialise. */
export class BackendError extends DiffiqaError {
  constructor(
    readonly backend: string,
    readonly reason: string,
  ) {
    super(`backend '${backend}': ${reason}`, 'E_BACKEND');
  }
}

/** A tensor or array does not have the expected shape. */
export class ShapeError extends DiffiqaError {
  constructor(what: string, want: string, got: readonly number[] | string) {
    super(`${what}: expected shape ${want}, got ${Array.isArray(got) ? `[${got.join(',')}]` : got}`, 'E_SHAPE');
  }
}

/** A registry lookup missed; the message lists the valid keys. */
export class RegistryError extends DiffiqaError {
  constructor(kind: string, key: string, valid: readonly string[]) {
    super(`unknown ${kind} '${key}'; expected one of: ${valid.join(', ')}`, 'E_REGISTRY');
  }
}

/** Describes any thrown value in one line, for logs and skip files. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}

/**
 * A short preview of a value read from a file, for error messages: at most `maxChars` characters, nested at most
 * three levels, a few items per container. Safe for any value a hostile file can produce (cycles, alias bombs,
 * nesting 100,000 deep, megabyte strings), where JSON.stringify or a template string would recurse or explode.
 * @example previewValue([[1, 2], 'x', { a: null }]) // '[[1,2],"x",{"a":null}]'
 */
export function previewValue(value: unknown, maxChars = 80): string {
  const s = preview(value, 3);
  return s.length > maxChars ? `${s.slice(0, maxChars - 1)}…` : s;
}

const PREVIEW_ITEMS = 8;

function preview(v: unknown, depth: number): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v !== 'object' || v === null) return String(v);
  if (depth === 0) return Array.isArray(v) ? '[…]' : '{…}';
  const items = (xs: Iterable<unknown>, n: number, show: (x: unknown) => string): string => {
    const out: string[] = [];
    for (const x of xs) {
      if (out.length === PREVIEW_ITEMS) {
        out.push(`… (${n} items)`);
        break;
      }
      out.push(show(x));
    }
    return out.join(',');
  };
  if (Array.isArray(v)) return `[${items(v, v.length, (x) => preview(x, depth - 1))}]`;
  if (ArrayBuffer.isView(v)) return `<${v.byteLength} bytes>`;
  if (v instanceof Map) return `{${items(v, v.size, (e) => { const [k, x] = e as [unknown, unknown]; return `${preview(k, depth - 1)}:${preview(x, depth - 1)}`; })}}`;
  if (v instanceof Set) return `set(${items(v, v.size, (x) => preview(x, depth - 1))})`;
  const keys = Object.keys(v);
  return `{${items(keys, keys.length, (k) => `${JSON.stringify(k)}:${preview((v as Record<string, unknown>)[k as string], depth - 1)}`)}}`;
}
