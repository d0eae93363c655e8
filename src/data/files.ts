/**
 * Image file discovery: files, folders (recursive) and simple globs (`*`, `**`, `?`), sorted. Symlinks are
 * followed, but each real directory is walked once, so a symlink loop cannot hang. Entries that cannot be read
 * (permissions, dangling links, names that are not UTF-8) are skipped and recorded, never fatal.
 *
 * Memory is the paths found and nothing else: no file is opened, and a folder is read as a stream of entries
 * rather than one array of all its names, so a folder of a million images costs its million path strings
 * (bench/many-files.ts measures it). Regular files are taken from the entry's type without a stat call; only
 * folders, symlinks and odd entries are stat'ed.
 */
import { isUtf8 } from 'node:buffer';
import { opendirSync, realpathSync, statSync, type Dir, type Stats } from 'node:fs';
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
  // An array, deduplicated after sorting: a Set would cost three times the memory per path.
  const found: string[] = [];
  for (const input of list) {
    if (hasWildcard(input)) {
      listGlob(input, exts, skip, found);
      continue;
    }
    const st = statOrThrow(input);
    if (st.isDirectory()) walk(input, { exts, skip, found, seen: new Set(), accept: () => true });
    else found.push(input);
  }
  if (found.length === 0) {
    throw new DataError(list.join(', '), `no image files (${[...exts].join(', ')}) found`);
  }
  return sortedUnique(found);
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

function listGlob(input: string, exts: Set<string>, skip: (e: SkippedEntry) => void, found: string[]): void {
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
  const before = found.length;
  walk(base, { exts, skip, found, seen: new Set(), accept: (p) => matcher.test(p) });
  if (found.length === before) skip({ path: input, reason: 'glob matched no image files' });
}

/** What one folder walk carries: the extensions to keep, where skips and finds go, the real folders seen. */
interface WalkState {
  exts: Set<string>;
  skip: (e: SkippedEntry) => void;
  found: string[];
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
  let handle: Dir;
  try {
    // Buffers: a name that is not valid UTF-8 must not be mangled into a different (wrong) path.
    handle = opendirSync(dir, { encoding: 'buffer' as BufferEncoding, bufferSize: 1024 }); // (Node's types omit 'buffer')
  } catch (err) {
    skip({ path: dir, reason: `cannot read folder: ${describeError(err)}` });
    return;
  }
  // Regular files with UTF-8 names are taken as they stream by; everything else (folders, symlinks, odd names)
  // is visited after, sorted, so that which of two links to one folder is walked (and named) does not depend
  // on the file system, and skips are reported in name order.
  const rest: Buffer[] = [];
  // join(dir, name) for every name, normalised once per folder: join's per-call normalisation builds each path
  // from a chain of string pieces, several times the memory of the path itself.
  const prefix = join(dir, 'x').slice(0, -1);
  try {
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      const raw = entry.name as unknown as Buffer; // Node types Dirent names as strings; with 'buffer' they are Buffers
      if (entry.isFile() && isUtf8(raw)) addFile(prefix, raw.toString('utf8'), w);
      else rest.push(raw);
    }
  } catch (err) {
    skip({ path: dir, reason: `cannot read folder: ${describeError(err)}` });
  } finally {
    handle.closeSync();
  }
  rest.sort(Buffer.compare);
  for (const raw of rest) visitEntry(prefix, raw, w);
}

/** Keeps `prefix + name` (prefix: a normalised folder path ending in '/', or '' for '.') if it is an image. */
function addFile(prefix: string, name: string, w: WalkState): void {
  if (!hasImageExtension(name, w.exts)) return;
  const path = prefix + name;
  if (w.accept(path)) w.found.push(path);
}

function visitEntry(prefix: string, raw: Buffer, w: WalkState): void {
  const { skip } = w;
  const name = raw.toString('utf8');
  const path = prefix + name;
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
  else if (st.isFile()) addFile(prefix, name, w);
}

function statOrThrow(input: string): Stats {
  try {
    return statSync(input);
  } catch (err) {
    throw new DataError(resolve(input), `input does not exist or cannot be read: ${describeError(err)}`);
  }
}

/** Sorts by UTF-16 code units (as `<` compares) in place and drops repeats (a file named twice). */
function sortedUnique(paths: string[]): string[] {
  paths.sort();
  let n = 0;
  for (let i = 0; i < paths.length; i++) if (i === 0 || paths[i] !== paths[n - 1]) paths[n++] = paths[i] as string;
  paths.length = n;
  return paths;
}
