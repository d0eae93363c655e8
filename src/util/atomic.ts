/**
 * Crash-safe file writes: write to a temp file in the same folder, fsync, then rename over the target.
 * A reader (or a resumed run) therefore sees either the old complete file or the new complete file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiffiqaError } from './errors.js';

/**
 * Creates `dir` and its missing parents one level at a time. (`mkdirSync(..., {recursive: true})` can hang on
 * pseudo-filesystems such as /proc under Node 20; a plain mkdir fails at once.) Errors name the folder.
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  while (!fs.existsSync(cur)) {
    missing.push(cur);
    const parent = path.dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
  if (fs.existsSync(cur) && !fs.statSync(cur).isDirectory()) {
    throw new DiffiqaError(`cannot create folder ${dir}: ENOTDIR (${cur} is a file, not a folder)`, 'E_WRITE');
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'EEXIST') throw new DiffiqaError(`cannot create folder ${d}: ${e.code ?? e.message}`, 'E_WRITE');
    }
  }
}

function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${Date.now()}`);
}

/** Atomically replaces `target` with `data`. Throws a DiffiqaError naming the file on any I/O failure. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  ensureDir(path.dirname(target));
  const tmp = tempPathFor(target);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw new DiffiqaError(`cannot write ${target}: ${e.code ?? ''} ${e.message}`.trim(), 'E_WRITE');
  }
}

/** Appends whole lines to `file` with one write call and an fsync, so a kill never leaves half a batch. */
export function appendLinesDurable(file: string, lines: readonly string[]): void {
  if (lines.length === 0) return;
  ensureDir(path.dirname(file));
  try {
    const fd = fs.openSync(file, 'a');
    try {
      fs.writeFileSync(fd, lines.map((l) => `${l}\n`).join(''));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DiffiqaError(`cannot write ${file}: ${e.code ?? ''} ${e.message}`.trim(), 'E_WRITE');
  }
}

/**
 * Atomically replaces the folder `target` with one holding `files` (file name, or '/'-separated path inside the
 * folder -> contents): the files are written and fsynced in a temp sibling folder, which is then renamed into
 * place, so a reader finds the old complete folder or the new one, never a mix (a multi-file model such as a tfjs graph model must not pair a new model.json with
 * old weight shards). An existing `target` is replaced only when `replaceable(target)` allows it (say, it holds an
 * earlier export): it is renamed aside first and removed once the new folder is in place.
 * @throws DiffiqaError naming the folder when `target` is a file or a folder that may not be replaced, or on any
 *   I/O failure (the temp folder is removed and an existing `target` is left as it was)
 */
export function writeFolderAtomic(target: string, files: ReadonlyMap<string, string | Uint8Array>, replaceable: (dir: string) => boolean): void {
  const dir = path.resolve(target);
  for (const name of files.keys()) {
    // A name is a file, or a '/'-separated path inside the folder; no part may be empty, hidden, '.' or '..'.
    if (name.includes('\\') || name.split('/').some((part) => part === '' || part.startsWith('.'))) throw new DiffiqaError(`cannot write ${target}: bad file name '${name}'`, 'E_WRITE');
  }
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new DiffiqaError(`cannot write ${target}: it is a file, and the output is a folder`, 'E_WRITE');
    if (!replaceable(dir)) throw new DiffiqaError(`cannot write ${target}: the folder exists and holds other files; name a new folder or an earlier output of this kind`, 'E_WRITE');
  }
  ensureDir(path.dirname(dir));
  const tmp = tempPathFor(dir);
  const aside = path.join(path.dirname(dir), `.${path.basename(dir)}.old-${process.pid}-${Date.now()}`);
  let movedAside = false;
  try {
    fs.mkdirSync(tmp);
    for (const [name, data] of files) {
      if (name.includes('/')) fs.mkdirSync(path.join(tmp, path.dirname(name)), { recursive: true });
      const fd = fs.openSync(path.join(tmp, name), 'w');
      try {
        fs.writeFileSync(fd, data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    if (fs.existsSync(dir)) {
      fs.renameSync(dir, aside);
      movedAside = true;
    }
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (movedAside && !fs.existsSync(dir)) fs.renameSync(aside, dir);
    const e = err as NodeJS.ErrnoException;
    throw new DiffiqaError(`cannot write ${target}: ${e.code ?? ''} ${e.message}`.trim(), 'E_WRITE');
  }
  if (movedAside) fs.rmSync(aside, { recursive: true, force: true });
}
