/**
 * The browser scorer's static text: index.html (with the import map that gives the page's modules their browser
 * tfjs, and a Content-Security-Policy that allows this origin only) and its style sheet. Kept as TypeScript strings
 * so that a built package carries them in dist/ like every other module.
 */
import { createHash } from 'node:crypto';

/** What index.html needs to know. */
export interface PageHtmlOptions {
  /** Specifier -> URL, relative to index.html. */
  imports: Readonly<Record<string, string>>;
  /** The page's entry module, relative to index.html. */
  entry: string;
  diffiqaVersion: string;
}

/** The import map script's text and the CSP source that allows exactly it. */
function importMapScript(imports: Readonly<Record<string, string>>): { text: string; hash: string } {
  const text = `\n${JSON.stringify({ imports }, null, 2)}\n`;
  return { text, hash: `'sha256-${createHash('sha256').update(text).digest('base64')}'` };
}

/**
 * The policy: scripts, styles, fetches and media from this origin only (plus the inline import map, by hash, and the
 * blob:/data: images the page makes itself), so nothing the page reads can be sent elsewhere and nothing is loaded
 * from outside (the page works offline).
 */
function contentSecurityPolicy(importMapHash: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' ${importMapHash}`,
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "connect-src 'self'",
    "media-src 'self' blob: mediastream:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** index.html of the browser scorer. */
export function pageHtml(opts: PageHtmlOptions): string {
  const map = importMapScript(opts.imports);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(map.hash)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>diffiqa: face image quality in the browser</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="page.css">
<script type="importmap">${map.text}</script>
<script type="module" src="${opts.entry}"></script>
</head>
<body data-state="loading">
<header>
  <h1>Face image quality <small>diffiqa ${opts.diffiqaVersion}</small></h1>
  <p class="privacy">Everything runs in this browser tab: photos are read, faces found, aligned and scored here, and nothing is uploaded.</p>
</header>
<main>
  <section id="input">
    <label id="drop" for="files">
      <span>Drop photos here, or click to choose them</span>
      <input id="files" type="file" accept="image/*" multiple>
    </label>
    <div id="webcam">
      <button id="webcam-start" type="button">Use the webcam</button>
      <button id="webcam-capture" type="button" hidden>Capture a frame</button>
      <button id="webcam-stop" type="button" hidden>Stop the webcam</button>
      <video id="webcam-video" playsinline muted hidden></video>
    </div>
  </section>
  <p id="status" role="status">Loading the models...</p>
  <ol id="photos"></ol>
  <section id="faces-section">
    <h2>Faces, best first</h2>
    <ol id="faces"></ol>
  </section>
  <p id="about"></p>
</main>
</body>
</html>
`;
}

/** page.css */
export const PAGE_CSS = `[hidden] { display: none !important; }
:root { font-family: system-ui, sans-serif; color: #222; background: #fafafa; }
body { margin: 0 auto; max-width: 1100px; padding: 1rem; }
h1 small { font-size: 0.5em; color: #777; font-weight: normal; }
.privacy, #about { color: #555; font-size: 0.9em; }
#input { display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-start; }
#drop { flex: 1 1 20rem; display: block; border: 2px dashed #999; border-radius: 8px; padding: 2rem; text-align: center; cursor: pointer; background: #fff; }
#drop.over { border-color: #2a6; background: #efe; }
#drop input { display: block; margin: 0.8rem auto 0; }
#webcam video { display: block; max-width: 320px; margin-top: 0.5rem; }
#status { min-height: 1.4em; }
#photos { list-style: none; padding: 0; font-size: 0.9em; color: #444; }
#photos li[data-status="error"], #photos li[data-status="no-face"] { color: #a33; }
#faces { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 0.8rem; }
.face { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem; text-align: center; }
.face canvas { width: 112px; height: 112px; image-rendering: pixelated; }
.face .score { font-size: 1.3em; font-weight: bold; }
.face .rank { color: #555; }
.face .name { font-size: 0.8em; color: #666; overflow-wrap: anywhere; }
.face .note { font-size: 0.75em; color: #a60; }
`;
