/**
 * Image file discovery: files, folders (recursive) and simple globs (`*`, `**`, `?`), sorted. Symlinks are
 * followed, but each real directory is walked once, so a symlink loop cannot hang. Entries that cannot be read
 * (permissions, dangling links, names that are not UTF-8) are skipped and recorded, never fatal.
 */
import { readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError, describeError } from '../util/errors.js';

/** Extensions treated as images (lower case; matching is case-insensitive). METHOD §1.5 plus webp and tif. */
export const IMAGE_EXTENSIONS: readonly string[] = ['jpg', 'jpeg', 'png', 'webp', 'tiff', 'tif'];

/** A file or folder that was skipped while listing, and why. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

/** Options of `listImageFiles`. */
export interface ListOptions {
  /** Called for every skipped entry (unreadable folder, dangling link, non-UTF-8 name). */
  onSkip?: (entry: SkippedEntry) => void;
  /** Extensions to accept; default `IMAGE_EXTENSIONS`. */
  extensions?: readonly string[];
}

/**
 * Lists image files under `inputs` (files, folders or glob patterns), deduplicated and sorted by path.
 * An explicitly named file is kept whatever its extension; folders and globs keep image extensions only.
 * @throws DataError naming the inputs when nothing is found, or when an input does not exist
 */
export function listImageFiles(inputs: string | readonly string[], options: ListOptions = {}): string[] {
  const list = typeof inputs === 'string' ? [inputs] : inputs;
  const exts = new Set((options.extensions ?? IMAGE_EXTENSIONS).map((e) => e.toLowerCase()));
  const skip = options.onSkip ?? (() => undefined);
  const found = new Set<string>();
  for (const input of list) {
    if (hasWildcard(input)) {
      listGlob(input, exts, skip, found);
      continue;
    }
    const st = statOrThrow(input);
    if (st.isDirectory()) walk(input, { exts, skip, found, seen: new Set(), accept: () => true });
    else found.add(input);
  }
  if (found.size === 0) {
    throw new DataError(list.join(', '), `no image files (${[...exts].join(', ')}) found`);
  }
  return [...found].sort(comparePaths);
}

/** True when the file name ends in one of `exts` (case-insensitive). */
export function hasImageExtension(path: string, exts: ReadonlySet<string> = new Set(IMAGE_EXTENSIONS)): boolean {
  const dot = path.lastIndexOf('.');
  return dot >= 0 && exts.has(path.slice(dot + 1).toLowerCase());
}

/** Converts a glob with `*` (within a path segment), `**` (any depth) and `?` to an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

function listGlob(input: string, exts: Set<string>, skip: (e: SkippedEntry) => void, found: Set<string>): void {
  const pattern = input.startsWith('./') ? input.slice(2) : input;
  const segments = pattern.split('/');
  const base = segments.slice(0, segments.findIndex(hasWildcard)).join('/') || (pattern.startsWith('/') ? '/' : '.');
  const matcher = globToRegExp(pattern);
  let st: Stats;
  try {
    st = statSync(base);
  } catch {
    throw new DataError(input, `glob base folder '${base}' does not exist`);
  }
  if (!st.isDirectory()) throw new DataError(input, `glob base '${base}' is not a folder`);
  const before = found.size;
  walk(base, { exts, skip, found, seen: new Set(), accept: (p) => matcher.test(p) });
  if (found.size === before) skip({ path: input, reason: 'glob matched no image files' });
}

/** What one folder walk carries: the extensions to keep, where skips and finds go, the real folders seen. */
interface WalkState {
  exts: Set<string>;
  skip: (e: SkippedEntry) => void;
  found: Set<string>;
  seen: Set<string>;
  accept: (path: string) => boolean;
}

function walk(dir: string, w: WalkState): void {
  const { skip, seen } = w;
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (err) {
    skip({ path: dir, reason: `cannot resolve folder: ${describeError(err)}` });
    return;
  }
  if (seen.has(real)) return; // symlink loop or a folder linked twice: walk each real folder once
  seen.add(real);
  let names: Buffer[];
  try {
    // Buffers: a name that is not valid UTF-8 must not be mangled into a different (wrong) path.
    names = readdirSync(dir, { encoding: 'buffer' });
  } catch (err) {
    skip({ path: dir, reason: `cannot read folder: ${describeError(err)}` });
    return;
  }
  // Sorted, so that which of two links to one folder is walked (and named) does not depend on the file system.
  names.sort(Buffer.compare);
  for (const raw of names) visitEntry(dir, raw, w);
}

function visitEntry(dir: string, raw: Buffer, w: WalkState): void {
  const { skip } = w;
  const name = raw.toString('utf8');
  const path = dir === '.' ? name : join(dir, name);
  if (!Buffer.from(name, 'utf8').equals(raw)) {
    skip({ path, reason: 'file name is not valid UTF-8 (rename it to use it)' });
    return;
  }
  let st: Stats;
  try {
    st = statSync(path); // follows symlinks
  } catch (err) {
    skip({ path, reason: `cannot stat (dangling link or no permission): ${describeError(err)}` });
    return;
  }
  if (st.isDirectory()) walk(path, w);
  else if (st.isFile() && hasImageExtension(name, w.exts) && w.accept(path)) w.found.add(path);
}

function statOrThrow(input: string): Stats {
  try {
    return statSync(input);
  } catch (err) {
    throw new DataError(resolve(input), `input does not exist or cannot be read: ${describeError(err)}`);
  }
}

function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
