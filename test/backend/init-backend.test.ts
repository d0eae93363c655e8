/**
 * Backend selection: tfjs-node(-gpu) are absent here, so initBackend falls through to `native` with one stderr
 * line per missing candidate; forcing works by argument or DIFFIQA_BACKEND; an unknown or unavailable forced backend
 * is a BackendError naming it; without the addon, selection tries CPU TensorFlow and ends on `cpu`.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BACKEND_NAMES, describeBackend, initBackend, nvidiaGpuPresent } from '../../src/backend/index.js';
import { NATIVE_INTERFACE, interfaceMismatch, loadNativeAddon } from '../../src/backend/native-binding.js';
import { tf } from '../../src/backend/tf.js';
import { BackendError } from '../../src/util/errors.js';

function runChild(env: Record<string, string>, code: string): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('initBackend', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    delete process.env['DIFFIQA_BACKEND'];
  });

  it('chooses tfjs-node-gpu automatically only where an NVIDIA GPU is listed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-gpus-'));
    expect(nvidiaGpuPresent(dir)).toBe(false);
    fs.mkdirSync(path.join(dir, '0000:01:00.0'));
    expect(nvidiaGpuPresent(dir)).toBe(true);
    expect(nvidiaGpuPresent(path.join(dir, 'missing'))).toBe(false);
    fs.rmSync(dir, { recursive: true });
  });

  it('falls through to native, one stderr line each, never to CPU TensorFlow before native', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    expect(await initBackend()).toBe('native');
    const gpuLine = nvidiaGpuPresent()
      ? 'diffiqa: @tensorflow/tfjs-node-gpu not installed; trying native\n'
      : 'diffiqa: no NVIDIA GPU found (/proc/driver/nvidia/gpus); trying native\n';
    expect(lines.filter((l) => l.startsWith('diffiqa: '))).toEqual([gpuLine]);
    expect(describeBackend()).toMatch(/^diffiqa: backend native \(\d+ threads?, (avx512|avx2|portable)\)$/);
  });

  it('honours the preferred argument and DIFFIQA_BACKEND', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(describeBackend()).toBe('diffiqa: backend cpu');
    process.env['DIFFIQA_BACKEND'] = 'native';
    expect(await initBackend()).toBe('native');
    expect(tf.getBackend()).toBe('native');
  });

  it('rejects an unknown or unavailable forced backend with BackendError naming it', async () => {
    await expect(initBackend('webgpu')).rejects.toThrow(BackendError);
    await expect(initBackend('webgpu')).rejects.toThrow(/webgpu.*expected one of: tensorflow-gpu, tensorflow, native, cpu/);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(initBackend('tensorflow')).rejects.toThrow(/backend 'tensorflow': @tensorflow\/tfjs-node not installed/);
    expect(BACKEND_NAMES).toEqual(['tensorflow-gpu', 'tensorflow', 'native', 'cpu']);
  });

  it('without the addon: selection ends on cpu with a notice, forcing native throws', () => {
    const env = { DIFFIQA_NATIVE_ADDON: '/nonexistent/diffiqa_native.node' };
    const auto = runChild(env, "import { initBackend } from './src/backend/index.ts'; console.log('got', await initBackend());");
    expect(auto.stdout).toContain('got cpu');
    expect(auto.stderr).toMatch(/diffiqa: addon \/nonexistent\/diffiqa_native\.node not built .*; trying tensorflow/);
    expect(auto.stderr).toMatch(/diffiqa: @tensorflow\/tfjs-node not installed; trying cpu/);
    const forced = runChild(
      { ...env, DIFFIQA_BACKEND: 'native' },
      "import { initBackend } from './src/backend/index.ts'; try { await initBackend(); } catch (e) { console.log(e.name, e.message); }",
    );
    expect(forced.stdout).toMatch(/BackendError backend 'native': addon .* not built/);
  });

  it('the built addon speaks these bindings\' interface; one built from other sources is refused with the fix', () => {
    expect(loadNativeAddon().info().interface).toBe(NATIVE_INTERFACE);
    expect(interfaceMismatch('a.node', { interface: NATIVE_INTERFACE })).toBeUndefined();
    expect(interfaceMismatch('a.node', {})).toMatch(/a\.node was built from older sources \(interface 1.*npm run build:native/);
    expect(interfaceMismatch('a.node', { interface: NATIVE_INTERFACE + 1 })).toMatch(/newer sources/);
  });

  it('sizes the native thread pool from DIFFIQA_NUM_THREADS', () => {
    const res = runChild(
      { DIFFIQA_NUM_THREADS: '1', DIFFIQA_BACKEND: 'native' },
      "import { initBackend, describeBackend } from './src/backend/index.ts'; await initBackend(); console.log(describeBackend());",
    );
    expect(res.stdout).toMatch(/diffiqa: backend native \(1 thread, (avx512|avx2|portable)\)/);
  });

  it('DIFFIQA_ISA selects the instruction set, printed in the backend line; an unknown or unsupported one is an error', () => {
    const show = "import { initBackend, describeBackend } from './src/backend/index.ts'; try { await initBackend(); console.log(describeBackend()); } catch (e) { console.log(e.name, e.message); }";
    const portable = runChild({ DIFFIQA_ISA: 'portable', DIFFIQA_BACKEND: 'native' }, show);
    expect(portable.stdout).toMatch(/diffiqa: backend native \(\d+ threads?, portable\)/);
    const bogus = runChild({ DIFFIQA_ISA: 'sse9', DIFFIQA_BACKEND: 'native' }, show);
    expect(bogus.stdout).toMatch(/BackendError .*DIFFIQA_ISA='sse9' is not one of avx512, avx2, portable, auto/);
    // Each real ISA either runs (and says so) or is refused by name: never a silent fallback to another path.
    for (const isa of ['avx2', 'avx512']) {
      const res = runChild({ DIFFIQA_ISA: isa, DIFFIQA_BACKEND: 'native' }, show);
      const ran = new RegExp(`diffiqa: backend native \\(\\d+ threads?, ${isa}\\)`).test(res.stdout);
      const refused = new RegExp(`DIFFIQA_ISA=${isa}: this CPU does not support it`).test(res.stdout);
      expect(ran !== refused, res.stdout).toBe(true);
      if (refused) console.log(`DIFFIQA_ISA=${isa}: not run (this CPU lacks it)`);
    }
  });
});
