/**
 * One writer per output. Two jobs appending to one label file, or two trainers checkpointing into one run folder,
 * would interleave rows or overwrite each other's checkpoints without either noticing. A job takes
 * `<output>.lock`, created exclusively and holding its pid, host and start time: a second job on the same output
 * stops at once with an error naming the first, and a lock left by a job that no longer runs on this host (a
 * killed job) is taken over. The lock is removed on release and when the process exits normally.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDir } from './atomic.js';
import { DataError } from './errors.js';

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

/** A held lock; release() removes it (idempotent). */
export interface OutputLock {
  readonly file: string;
  release(): void;
}

/** Whether a process with this pid runs on this machine (EPERM: it runs, as another user). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): { info: LockInfo | null; text: string } {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
    return { info: JSON.parse(text) as LockInfo, text };
  } catch {
    return { info: null, text }; // vanished, or half-written by a job killed while creating it
  }
}

function tryCreate(output: string, file: string): boolean {
  let fd: number;
  try {
    ensureDir(path.dirname(file));
    fd = fs.openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new DataError(output, `cannot create ${file}: ${(err as Error).message}`);
  }
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  try {
    fs.writeSync(fd, JSON.stringify(info));
  } catch (err) {
    fs.rmSync(file, { force: true }); // an empty lock would read as stale anyway; leave nothing behind
    throw new DataError(output, `cannot write ${file}: ${(err as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Takes the lock of `output` (a file or folder path): `<output>.lock`.
 * @throws DataError naming the output and the other process when a live process holds it
 */
export function lockOutput(output: string): OutputLock {
  const file = `${output}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(output, file)) return held(file);
    const { info, text } = readLock(file);
    const live = info !== null && info.host === os.hostname() && info.pid !== process.pid && pidAlive(info.pid);
    const otherHost = info !== null && info.host !== os.hostname();
    if (live || otherHost) {
      const who = `process ${info!.pid} on ${info!.host}, started ${info!.started}`;
      const hint = otherHost ? `; if that job is gone, delete ${file}` : '';
      throw new DataError(output, `is being written by ${who} (lock ${file}); wait for it or stop it${hint}`);
    }
    // Stale (its process is gone) or our own: take it over, unless another job replaced it meanwhile.
    if (readLock(file).text === text) fs.rmSync(file, { force: true });
  }
  throw new DataError(output, `another job took the lock ${file} at the same moment`);
}

function held(file: string): OutputLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    const { info } = readLock(file);
    if (info?.pid === process.pid) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { file, release };
}

/** Runs `fn` holding the lock of `output` (see lockOutput), released however `fn` ends. */
export async function withOutputLock<T>(output: string, fn: () => Promise<T>): Promise<T> {
  const lock = lockOutput(output);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
