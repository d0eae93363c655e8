// Builds the native addon (binding.gyp) with node-gyp. Run by `npm install`: a failed build prints one notice and
// exits 0 so installation still succeeds (the `cpu` backend then serves); `--strict` (npm run build:native) fails;
// `--clean` forces a full rebuild.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const verbose = strict || process.argv.includes('--verbose');

/** Node's own headers when they sit beside the binary (distro packages), so node-gyp needs no download. */
function localNodeDir() {
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function findNodeGyp() {
  try {
    return createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

function fail(reason) {
  if (strict) {
    console.error(`diffiqa: native addon build failed: ${reason}`);
    process.exit(1);
  }
  console.warn(`diffiqa: native addon not built (${reason}); the 'cpu' backend will be used. Run 'npm run build:native' for details.`);
  process.exit(0);
}

/**
 * `rebuild` (clean + configure + build) on a fresh tree, after binding.gyp changed, or with --clean; otherwise an
 * incremental `build`, which recompiles only changed sources and never deletes the addon first, so processes
 * started during a rebuild do not silently fall back to the cpu backend for lack of the file.
 */
function gypCommand() {
  const makefile = join(root, 'build', 'Makefile');
  if (process.argv.includes('--clean') || !existsSync(makefile)) return 'rebuild';
  return statSync(join(root, 'binding.gyp')).mtimeMs > statSync(makefile).mtimeMs ? 'rebuild' : 'build';
}

const gyp = findNodeGyp();
if (!gyp) fail('node-gyp is not installed');
const args = [gyp, gypCommand(), '--release', `--jobs=${process.env.DIFFIQA_BUILD_JOBS ?? '2'}`];
const nodedir = process.env.npm_config_nodedir ?? localNodeDir();
if (nodedir) args.push(`--nodedir=${nodedir}`);
const res = spawnSync(process.execPath, args, { cwd: root, stdio: verbose ? 'inherit' : 'pipe', encoding: 'utf8' });
if (res.error) fail(res.error.message);
if (res.status !== 0) {
  const tail = `${res.stderr ?? ''}`.trim().split('\n').filter((l) => /error/i.test(l)).slice(-1)[0];
  fail(tail ? tail.trim() : `node-gyp exited with code ${res.status}`);
}
if (!existsSync(join(root, 'build', 'Release', 'diffiqa_native.node'))) fail('build/Release/diffiqa_native.node is missing');
if (verbose) console.log('diffiqa: native addon built: build/Release/diffiqa_native.node');
