/**
 * One writer per output, with real processes: a second job on an output a live process holds stops at once with
 * an error naming that process; a lock left by a killed process is taken over; a released lock is gone.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockOutput } from '../../src/util/output-lock.js';
import { DataError } from '../../src/util/errors.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-lock-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Starts a process that takes the lock of `out`, says 'locked' and then waits to be killed. */
function holder(out: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const code = `import { lockOutput } from './src/util/output-lock.ts'; lockOutput(${JSON.stringify(out)}); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) {
        resolve({ pid: child.pid!, kill: () => new Promise((done) => { child.on('exit', () => done()); child.kill('SIGKILL'); }) });
      }
    });
  });
}

describe('lockOutput', () => {
  it('refuses an output a live process writes, naming it; takes over after that process is killed', async () => {
    const out = path.join(tmp, 'labels.csv');
    const other = await holder(out);
    expect(() => lockOutput(out)).toThrow(DataError);
    expect(() => lockOutput(out)).toThrow(new RegExp(`labels\\.csv: is being written by process ${other.pid} on `));
    await other.kill(); // kill -9: the lock file stays behind, stale
    expect(fs.existsSync(`${out}.lock`)).toBe(true);
    const mine = lockOutput(out);
    expect(JSON.parse(fs.readFileSync(mine.file, 'utf8')).pid).toBe(process.pid);
    mine.release();
    expect(fs.existsSync(`${out}.lock`)).toBe(false);
  }, 60_000);

  it('a second CLI label run on the same output stops at once with that error', async () => {
    const out = path.join(tmp, 'cli.csv');
    const other = await holder(out);
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'label', '--data', tmp, '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`is being written by process ${other.pid}`);
    } finally {
      await other.kill();
    }
  }, 90_000);
});
