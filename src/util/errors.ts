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
