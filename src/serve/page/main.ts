/// <reference lib="dom" />
/**
 * The browser scorer's page: photos come from the file input, a drop, or a webcam frame; each is decoded and
 * scored in this tab (photo.ts, scorer.ts), one at a time; every face is shown with its crop, score and rank among
 * all faces on the page. User-supplied text (file names, error messages) is only ever set as text, never as HTML.
 *
 * For scripts and tests, the page states its progress in attributes: `body[data-state]` is loading, idle, busy or
 * error, `body[data-backend]` the tfjs backend; each photo is an `li[data-status]` (queued, working, done, no-face,
 * error) and each face an `li.face` with `data-photo` (photo number, from 0), `data-face` (detection order),
 * `data-box` (x,y,width,height in the decoded photo), `data-score` (full precision) and `data-rank`.
 */
import type { SiteInfo } from '../site.js';
import { decodePhoto, photoFromBitmap, type DecodedPhoto } from './photo.js';
import { chooseBackend, PageScorer, type ScoredFace } from './scorer.js';

interface FaceEntry extends ScoredFace {
  photo: number;
  index: number;
  name: string;
  note?: string;
  element: HTMLLIElement;
}

interface Job {
  photo: number;
  name: string;
  item: HTMLLIElement;
  decode: () => Promise<DecodedPhoto>;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page lacks #${id}`);
  return el as T;
};

const faces: FaceEntry[] = [];
const queue: Job[] = [];
let photos = 0;
let scorer: PageScorer | undefined;
let settings: SiteInfo | undefined;
let running = false;

function setState(state: 'loading' | 'idle' | 'busy' | 'error', message: string): void {
  document.body.dataset.state = state;
  $('status').textContent = message;
}

/** A 112x112 canvas of an RGB [0,1] crop. */
function cropCanvas(crop: ScoredFace['crop']): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = crop.width;
  canvas.height = crop.height;
  const pixels = new ImageData(crop.width, crop.height);
  for (let i = 0, o = 0; i < crop.data.length; i += 3, o += 4) {
    for (let c = 0; c < 3; c++) pixels.data[o + c] = Math.round(Math.min(1, Math.max(0, crop.data[i + c] as number)) * 255);
    pixels.data[o + 3] = 255;
  }
  canvas.getContext('2d')?.putImageData(pixels, 0, 0);
  return canvas;
}

function faceElement(f: Omit<FaceEntry, 'element'>): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'face';
  li.dataset.photo = String(f.photo);
  li.dataset.face = String(f.index);
  li.dataset.box = [f.box.x, f.box.y, f.box.width, f.box.height].join(',');
  li.dataset.score = String(f.score);
  li.dataset.name = f.name;
  const score = document.createElement('div');
  score.className = 'score';
  score.textContent = f.score.toFixed(4);
  const rank = document.createElement('div');
  rank.className = 'rank';
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = `${f.name} - face ${f.index + 1}`;
  name.title = f.name;
  li.append(cropCanvas(f.crop), score, rank, name);
  if (f.note) {
    const note = document.createElement('div');
    note.className = 'note';
    note.textContent = `may differ from diffiqa score: ${f.note}`;
    li.append(note);
  }
  return li;
}

/** Orders the grid by score (best first) and writes each face's rank among all faces on the page. */
function rerank(): void {
  const sorted = [...faces].sort((a, b) => b.score - a.score);
  const list = $('faces');
  sorted.forEach((f) => {
    const rank = 1 + faces.filter((g) => g.score > f.score).length;
    f.element.dataset.rank = String(rank);
    (f.element.querySelector('.rank') as HTMLElement).textContent = `rank ${rank} of ${faces.length}`;
    list.append(f.element); // appending an attached element moves it
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function runJob(job: Job): Promise<void> {
  job.item.dataset.status = 'working';
  job.item.textContent = `${job.name}: working...`;
  try {
    const photo = await job.decode();
    const found = await (scorer as PageScorer).scorePhoto(photo.image);
    if (found.length === 0) {
      job.item.dataset.status = 'no-face';
      job.item.textContent = `${job.name}: no face found`;
      return;
    }
    for (const [index, f] of found.entries()) {
      const entry = { ...f, photo: job.photo, index, name: job.name, note: photo.note };
      faces.push({ ...entry, element: faceElement(entry) });
    }
    rerank();
    job.item.dataset.status = 'done';
    const size = photo.plan.shrink === 1 ? `${photo.width}x${photo.height}` : `${photo.width}x${photo.height} shrunk to ${photo.image.width}x${photo.image.height}`;
    job.item.textContent = `${job.name}: ${found.length} face${found.length === 1 ? '' : 's'} (${size})`;
  } catch (err) {
    job.item.dataset.status = 'error';
    job.item.textContent = `${job.name}: ${describe(err)}`;
  }
}

async function drain(): Promise<void> {
  if (running || !scorer) return;
  running = true;
  try {
    for (let job = queue.shift(); job; job = queue.shift()) {
      setState('busy', `Scoring ${job.name} (${queue.length} more waiting)...`);
      await runJob(job);
    }
  } finally {
    running = false;
  }
  setState('idle', `${faces.length} face${faces.length === 1 ? '' : 's'} scored. Add more photos to rank them together.`);
}

function enqueue(name: string, decode: () => Promise<DecodedPhoto>): void {
  const item = document.createElement('li');
  item.dataset.status = 'queued';
  item.dataset.name = name;
  item.textContent = `${name}: waiting`;
  $('photos').append(item);
  queue.push({ photo: photos++, name, item, decode });
  void drain();
}

/** site.json's decode size; photos queued while the page loads are decoded once it is known. */
function maxSide(): number {
  return (settings as SiteInfo).maxSide;
}

function addFiles(files: FileList | null): void {
  for (const file of Array.from(files ?? [])) enqueue(file.name, () => decodePhoto(file, file.name, maxSide()));
}

function wireInputs(): void {
  const input = $<HTMLInputElement>('files');
  input.addEventListener('change', () => {
    addFiles(input.files);
    input.value = '';
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles(e.dataTransfer?.files ?? null);
  });
  wireWebcam();
}

/** The optional webcam: start, capture frames (each scored like a photo), stop. */
function wireWebcam(): void {
  const video = $<HTMLVideoElement>('webcam-video');
  const [start, capture, stop] = ['webcam-start', 'webcam-capture', 'webcam-stop'].map((id) => $<HTMLButtonElement>(id)) as [HTMLButtonElement, HTMLButtonElement, HTMLButtonElement];
  let stream: MediaStream | undefined;
  let frames = 0;
  const show = (on: boolean): void => {
    start.hidden = on;
    capture.hidden = !on;
    stop.hidden = !on;
    video.hidden = !on;
  };
  start.addEventListener('click', async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      video.srcObject = stream;
      await video.play();
      show(true);
    } catch (err) {
      $('status').textContent = `The webcam could not start: ${describe(err)}`;
    }
  });
  capture.addEventListener('click', () => {
    const name = `webcam frame ${++frames}`;
    const framePromise = createImageBitmap(video);
    enqueue(name, async () => {
      const bitmap = await framePromise;
      try {
        return photoFromBitmap(bitmap, name, maxSide(), { format: 'frame' });
      } finally {
        bitmap.close();
      }
    });
  });
  stop.addEventListener('click', () => {
    stream?.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
    show(false);
  });
}

async function main(): Promise<void> {
  setState('loading', 'Loading the models...');
  wireInputs();
  const base = new URL('.', document.baseURI);
  const res = await fetch(new URL('site.json', base));
  if (!res.ok) throw new Error(`site.json: HTTP ${res.status}`);
  settings = (await res.json()) as SiteInfo;
  const backend = await chooseBackend(new URLSearchParams(location.search).get('backend'));
  document.body.dataset.backend = backend.name;
  scorer = await PageScorer.load(settings, base);
  $('about').textContent =
    `Model ${settings.model} (${settings.modelSource}, sha256 ${settings.modelSha256.slice(0, 12)}), tfjs backend ${backend.name}` +
    `${backend.note ? ` (${backend.note})` : ''}. Photos are shrunk to fit ${settings.maxSide} px, faces found by SSD MobileNet v1, ` +
    `aligned to the ${settings.faceSize}x${settings.faceSize} ArcFace template, and scored as diffiqa score --align does; scores are raw (higher is better).`;
  if (queue.length > 0) await drain();
  else setState('idle', 'Ready: drop photos, choose them, or use the webcam.');
}

main().catch((err: unknown) => setState('error', `The scorer could not start: ${describe(err)}`));
