/**
 * Runs test/fixtures/diffusion/check_reference.py, which loads the tiny_unet.pt fixture into LSIbabnikz/DifFIQA's
 * own `Unet` (diffiqa/diffusion_base/diff_unet.py) and compares its output with tiny_unet_io.json, so the fixture
 * that test/diffusion/load.test.ts checks our UNet against is tied to the reference code itself.
 *
 * It needs Python with PyTorch (`DIFFIQA_PYTHON`, default `python3`) and a checkout of the reference repository
 * (`DIFFIQA_REFERENCE_REPO`, default ../shared/DifFIQA). Where either is missing the test is skipped and the
 * reason printed; where both are there it must pass, and the script's result line is printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'test/fixtures/diffusion/check_reference.py');
const PYTHON = process.env.DIFFIQA_PYTHON ?? 'python3';
const REFERENCE = process.env.DIFFIQA_REFERENCE_REPO ?? fileURLToPath(new URL('../../../shared/DifFIQA', import.meta.url));

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

/** The torch version `PYTHON` imports, or why it cannot. */
function probeTorch(): { version: string } | { reason: string } {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return { reason: `${PYTHON} cannot be run (${r.error.message})` };
  if (r.status !== 0) return { reason: `${PYTHON} cannot import torch (${lastLine(r.stderr) || `exit ${r.status}`})` };
  return { version: r.stdout.trim() };
}

const torch = probeTorch();
const reasons: string[] = [];
if ('reason' in torch) reasons.push(torch.reason);
if (!existsSync(join(REFERENCE, 'diffiqa/diffusion_base/diff_unet.py'))) {
  reasons.push(`no reference code at ${REFERENCE} (set DIFFIQA_REFERENCE_REPO to a checkout of LSIbabnikz/DifFIQA)`);
}
const skipReason = reasons.length > 0 ? reasons.join('; ') : null;
if (skipReason) console.log(`SKIP check_reference.py: ${skipReason}`);

describe('tiny_unet fixture against the reference UNet', () => {
  it.skipIf(skipReason !== null)('check_reference.py: same state-dict keys in the same order, max |diff| < 1e-4', () => {
    const r = spawnSync(PYTHON, [SCRIPT, REFERENCE], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    const version = 'version' in torch ? torch.version : '?';
    console.log(`check_reference.py (${PYTHON}, torch ${version}, ${REFERENCE}): ${r.stdout.trim() || '(no output)'}`);
    if (r.stderr.trim()) console.log(r.stderr.trim());
    expect(r.error, 'spawning check_reference.py').toBeUndefined();
    expect(r.status, `check_reference.py exit status; stderr: ${lastLine(r.stderr)}`).toBe(0);
    // The script's own verdict (exit 0) is checked again on its printed numbers.
    const m = /keys identical and ordered: (\w+); max \|diff\| (\S+) \(scale (\S+)\)/.exec(r.stdout);
    expect(m, `check_reference.py output: ${r.stdout}`).not.toBeNull();
    expect(m?.[1]).toBe('True');
    expect(Number(m?.[2])).toBeLessThan(1e-4);
  });
});
