/**
 * The browser scorer as a set of static files, which `serveSite` serves and `writeSite` writes to a folder:
 *
 *   index.html, page.css     the page (src/serve/page-html.ts)
 *   site.json                what the page runs: diffiqa version, model, decode size
 *   lib/**.js                the page's modules (src/serve/page/) and the project modules they import: SSD detector,
 *                            landmarks, 5-point similarity, warp, the sharp-equivalent shrink (src/serve/modules.ts)
 *   vendor/tfjs.esm.js       tfjs 4.22 as bundled by @vladmandic/face-api (core, converter, cpu and webgl backends)
 *   vendor/tf.js, vendor/tfjs-converter.js
 *                            what the import map puts in place of src/backend/tf.ts and @tensorflow/tfjs-converter
 *   models/face-api/         face-api's SSD MobileNet v1 and 68-landmark weights, the files Node reads
 *   model/                   the regressor as a tfjs graph model (src/export), cached per weight file
 *
 * Every URL is relative, so the folder works from any path of any static server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkWeightGroups, type WeightGroup } from '../fr/weight-manifest.js';
import { ALIGN_MAX_SIDE, ALIGNED_SIZE } from '../fr/align-face.js';
import { defaultLandmarkManifest } from '../fr/landmarks.js';
import { defaultSsdManifest } from '../fr/detect.js';
import { packageFile } from '../fr/tfjs-weights.js';
import { writeFolderAtomic } from '../util/atomic.js';
import { CheckpointError } from '../util/errors.js';
import { diffiqaVersion } from '../util/format-version.js';
import { cachedTfjsModel, type CachedModel } from './model-cache.js';
import { collectBrowserModules } from './modules.js';
import { PAGE_CSS, pageHtml } from './page-html.js';

/** The page's entry module, relative to the source root. */
export const PAGE_ENTRY = 'serve/page/main.js';
/** The one project module the page gets a browser version of: the tf instance (face-api's bundled tfjs). */
const TF_MODULE = 'backend/tf.js';
const CONVERTER = '@tensorflow/tfjs-converter';
/** The marker file of a built folder (also the page's settings). */
export const SITE_JSON = 'site.json';

/** One file of the site. */
export interface SiteFile {
  type: string;
  data: string | Uint8Array;
}

/** What the page runs; written to site.json. */
export interface SiteInfo {
  diffiqa: string;
  /** `kind/backbone` of the regressor, its weight file's base name and SHA-256. */
  model: string;
  modelSource: string;
  modelSha256: string;
  /** Photos are shrunk to fit this side before detection, as `diffiqa score --align` does. */
  maxSide: number;
  /** Side of the aligned crops. */
  faceSize: number;
  /** URLs of the face-api weight manifests and the regressor, relative to index.html. */
  detector: string;
  landmarks: string;
  regressor: string;
}

/** The assembled site. */
export interface Site {
  /** URL path (relative, no leading slash) -> file. */
  files: Map<string, SiteFile>;
  info: SiteInfo;
  /** Where the regressor export came from. */
  model: CachedModel;
}

/** Options of `assembleSite`. */
export interface SiteOptions {
  /** A regressor file or run folder (default: the shipped eDifFIQA). */
  model?: string;
  /** Where tfjs exports are cached. */
  cacheDir: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
};

function contentType(name: string): string {
  return TYPES[path.extname(name)] ?? 'application/octet-stream';
}

function readFile(file: string, what: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CheckpointError(file, '', `cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** A tfjs weight folder (a face-api manifest, or a graph model's model.json) and its shards, under `prefix`. */
function weightFiles(manifest: string, prefix: string, groupsOf: (json: unknown) => unknown): Map<string, Uint8Array> {
  const bytes = readFile(manifest, 'a weight manifest');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new CheckpointError(manifest, '', `not JSON: ${(err as Error).message}`);
  }
  const groups = groupsOf(json);
  checkWeightGroups(groups, manifest);
  const out = new Map<string, Uint8Array>([[`${prefix}/${path.basename(manifest)}`, bytes]]);
  for (const p of (groups as WeightGroup[]).flatMap((g) => g.paths)) {
    // Shards sit beside their manifest (tfjs's layout); anything else is not served.
    if (p !== path.basename(p)) throw new CheckpointError(manifest, p, 'weight shard path leaves the manifest folder');
    out.set(`${prefix}/${p}`, readFile(path.join(path.dirname(manifest), p), `a weight shard listed in ${manifest}`));
  }
  return out;
}

/**
 * Assembles the browser scorer: compiles the page's modules, exports (or takes from the cache) the regressor, and
 * reads tfjs and face-api's weights from node_modules.
 * @throws CheckpointError naming the model or weight file that is missing or unreadable; DiffiqaError naming a
 *   page module that cannot be compiled for the browser
 */
export async function assembleSite(opts: SiteOptions): Promise<Site> {
  const version = diffiqaVersion();
  const model = cachedTfjsModel(opts.model, opts.cacheDir);
  const files = new Map<string, SiteFile>();
  const add = (name: string, data: string | Uint8Array): void => void files.set(name, { type: contentType(name), data });

  const modules = await collectBrowserModules([PAGE_ENTRY], { replaced: [TF_MODULE], bare: [CONVERTER] });
  for (const [mod, code] of modules) add(`lib/${mod}`, code);
  add('vendor/tfjs.esm.js', readFile(packageFile('@vladmandic/face-api', 'dist/tfjs.esm.js'), "face-api's tfjs bundle"));
  add('vendor/tf.js', "// The page's `tf` (src/backend/tf.ts in Node): tfjs 4.22 as bundled by @vladmandic/face-api.\nimport * as tf from './tfjs.esm.js';\nexport { tf };\n");
  add('vendor/tfjs-converter.js', "// tf.loadGraphModel for the page, from the same bundle.\nexport { loadGraphModel } from './tfjs.esm.js';\n");
  for (const [name, data] of weightFiles(defaultSsdManifest(), 'models/face-api', (j) => j)) add(name, data);
  for (const [name, data] of weightFiles(defaultLandmarkManifest(), 'models/face-api', (j) => j)) add(name, data);
  for (const [name, data] of weightFiles(path.join(model.dir, 'model.json'), 'model', (j) => (j as { weightsManifest?: unknown }).weightsManifest)) add(name, data);

  const info: SiteInfo = {
    diffiqa: version,
    model: model.model,
    modelSource: path.basename(model.source),
    modelSha256: model.sha256,
    maxSide: ALIGN_MAX_SIDE,
    faceSize: ALIGNED_SIZE,
    detector: `models/face-api/${path.basename(defaultSsdManifest())}`,
    landmarks: `models/face-api/${path.basename(defaultLandmarkManifest())}`,
    regressor: 'model/model.json',
  };
  add(SITE_JSON, `${JSON.stringify(info, null, 2)}\n`);
  add('page.css', PAGE_CSS);
  add('index.html', pageHtml({ imports: { [`./lib/${TF_MODULE}`]: './vendor/tf.js', [CONVERTER]: './vendor/tfjs-converter.js' }, entry: `./lib/${PAGE_ENTRY}`, diffiqaVersion: version }));
  return { files, info, model };
}

/** A folder `writeSite` may replace: empty, or an earlier build (it holds site.json). */
function isSiteFolder(dir: string): boolean {
  const names = fs.readdirSync(dir);
  return names.length === 0 || names.includes(SITE_JSON);
}

/**
 * Writes the site to `dir` atomically (a complete new folder is renamed into place). An existing `dir` is replaced
 * only when it is empty or an earlier build.
 * @throws DiffiqaError naming `dir` when it is a file, holds other files, or cannot be written
 */
export function writeSite(site: Site, dir: string): void {
  writeFolderAtomic(dir, new Map([...site.files].map(([name, f]) => [name, f.data])), isSiteFolder);
}
