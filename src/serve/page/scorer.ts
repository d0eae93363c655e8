/// <reference lib="dom" />
/**
 * Browser side: the scoring pipeline of `diffiqa score --align`, run on every face of a photo. The detector,
 * landmark net, 5-point alignment and warp are the project's own modules (src/fr), fed face-api's weight files; the
 * regressor is its tfjs export (src/export). Only the tfjs backend differs from Node: WebGL where it renders 32-bit
 * floats, else cpu.
 */
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { tf } from '../../backend/tf.js';
import type { RgbImage } from '../../data/image.js';
import { alignFace } from '../../fr/align-face.js';
import { createLandmarkNet, type LandmarkNet } from '../../fr/landmark-net.js';
import { createFaceDetector, type FaceBox, type FaceDetector } from '../../fr/ssd-net.js';
import { checkWeightGroups, decodeToHost } from '../../fr/weight-manifest.js';
import type { HostTensor } from '../../nn/params.js';
import { CheckpointError, describeError } from '../../util/errors.js';
import type { SiteInfo } from '../site.js';

/** One scored face of a photo. */
export interface ScoredFace {
  /** Detection box in the decoded (shrunk) photo, pixels. */
  box: FaceBox;
  /** The aligned crop, RGB in [0,1]. */
  crop: RgbImage;
  /** The regressor's raw quality (higher is better), as `diffiqa score` prints it. */
  score: number;
}

/** The tfjs backend the page runs on, and why not WebGL when it is not. */
export interface BackendChoice {
  name: string;
  note?: string;
}

/**
 * WebGL when it renders 32-bit floats (with 16-bit ones scores would move by far more than 1e-3), else cpu;
 * `forced` (the page's `?backend=` parameter) overrides.
 */
export async function chooseBackend(forced: string | null): Promise<BackendChoice> {
  if (forced) {
    if (!(await tf.setBackend(forced))) throw new Error(`the tfjs backend '${forced}' (?backend=) is not available in this browser`);
    return { name: forced };
  }
  let note: string;
  try {
    if (await tf.setBackend('webgl')) {
      if (tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE')) return { name: 'webgl' };
      note = 'WebGL here renders only 16-bit floats';
    } else note = 'WebGL is not available';
  } catch (err) {
    note = `WebGL failed: ${describeError(err)}`;
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('neither the webgl nor the cpu tfjs backend could start');
  return { name: 'cpu', note };
}

async function fetchOk(url: URL): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new CheckpointError(url.href, '', `HTTP ${res.status}`);
  return res;
}

/** A face-api weight manifest and its shards, decoded by the same code as Node's readWeightManifest. */
async function fetchWeights(url: URL): Promise<Map<string, HostTensor>> {
  const groups = (await (await fetchOk(url)).json()) as unknown;
  const { specs, bytes } = checkWeightGroups(groups, url.href);
  const paths = (groups as { paths: string[] }[]).flatMap((g) => g.paths);
  const shards = await Promise.all(paths.map(async (p) => new Uint8Array(await (await fetchOk(new URL(p, url))).arrayBuffer())));
  const have = shards.reduce((n, s) => n + s.byteLength, 0);
  if (have !== bytes) throw new CheckpointError(url.href, '', `weight shards hold ${have} bytes, the manifest declares ${bytes}`);
  const data = new Uint8Array(have);
  let at = 0;
  for (const s of shards) {
    data.set(s, at);
    at += s.byteLength;
  }
  return decodeToHost(specs, data.buffer, url.href);
}

/** The input and output names the export records (src/export: 'image' and 'quality'). */
function contractOf(model: GraphModel, url: string): { input: string; output: string } {
  const c = (model.metadata as { diffiqa?: { contract?: { input?: { name?: string }; output?: { name?: string } } } } | undefined)?.diffiqa?.contract;
  if (!c?.input?.name || !c.output?.name) throw new CheckpointError(url, 'userDefinedMetadata.diffiqa.contract', 'not a diffiqa export (diffiqa export --format tfjs writes it)');
  return { input: c.input.name, output: c.output.name };
}

/** The loaded models; `dispose()` frees them. */
export class PageScorer {
  private constructor(
    private readonly detector: FaceDetector,
    private readonly landmarks: LandmarkNet,
    private readonly model: GraphModel,
    private readonly io: { input: string; output: string },
    readonly faceSize: number,
  ) {}

  /** Loads the detector, landmark net and regressor named in site.json, relative to `base` (the page's URL). */
  static async load(settings: SiteInfo, base: URL): Promise<PageScorer> {
    const [ssd, lm, model] = await Promise.all([
      fetchWeights(new URL(settings.detector, base)),
      fetchWeights(new URL(settings.landmarks, base)),
      loadGraphModel(new URL(settings.regressor, base).href),
    ]);
    const url = new URL(settings.regressor, base).href;
    return new PageScorer(createFaceDetector(ssd, settings.detector), createLandmarkNet(lm), model, contractOf(model, url), settings.faceSize);
  }

  /** Every face of `img` (a decoded photo, RGB in [0,1]), detected, aligned and scored, in detection order. */
  async scorePhoto(img: RgbImage): Promise<ScoredFace[]> {
    const faces = this.detector.detect(img).map((box) => ({ box, crop: alignFace(img, box, this.landmarks).crop }));
    if (faces.length === 0) return [];
    const per = this.faceSize * this.faceSize * 3;
    const batch = new Float32Array(faces.length * per);
    faces.forEach((f, i) => batch.set(f.crop.data, i * per));
    const x = tf.tensor4d(batch, [faces.length, this.faceSize, this.faceSize, 3]);
    const y = this.model.execute({ [this.io.input]: x }, this.io.output) as tf.Tensor;
    try {
      const scores = await y.data();
      return faces.map((f, i) => ({ ...f, score: scores[i] as number }));
    } finally {
      tf.dispose([x, y]);
    }
  }

  dispose(): void {
    this.detector.dispose();
    this.landmarks.dispose();
    this.model.dispose();
  }
}
