import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Instruction sets this x86-64 CPU runs, best first, named as DIFFIQA_ISA names them (src/backend/native/isa.h);
 * empty on another architecture.
 */
function supportedIsas(): string[] {
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    return [];
  }
  const has = (flag: string): boolean => new RegExp(`\\b${flag}\\b`).test(flags);
  if (!has('sse2')) return [];
  return [...(has('avx512f') ? ['avx512'] : []), ...(has('avx2') && has('fma') ? ['avx2'] : []), 'portable'];
}

// The whole suite runs on the best instruction set; the kernel tests (test/backend) run again on every other one
// this machine supports, so an AVX-512 machine also checks the AVX2 and portable paths.
const [best, ...others] = supportedIsas();

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores in CI: run test files two at a time.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      { extends: true, test: { name: best === undefined ? 'all' : `all (${best})`, include: ['test/**/*.test.ts'] } },
      ...others.map((isa) => ({
        extends: true,
        test: { name: `kernels (${isa})`, include: ['test/backend/**/*.test.ts'], env: { DIFFIQA_ISA: isa } },
      })),
    ],
  },
});
