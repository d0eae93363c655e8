/**
 * Allowlist check for SVG markup that the HTML report inlines. The report must stay inert (no script, no event
 * handler, no external fetch) whatever a plot's text held, so an SVG is inlined only when every tag and attribute
 * is one our chart writer (src/eval/plot.ts) produces and every text node is escaped. Anything else is refused
 * with an error naming the plot and the offending markup: we check rather than "clean", so a bug upstream is loud.
 */
import { DiffiqaError } from '../util/errors.js';

const TAGS = new Set(['svg', 'g', 'rect', 'line', 'path', 'text', 'tspan', 'polyline', 'polygon', 'circle', 'title', 'desc']);
const ATTRS = new Set([
  'xmlns', 'width', 'height', 'viewBox', 'x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'd', 'points', 'fill',
  'stroke', 'stroke-width', 'stroke-dasharray', 'stroke-linejoin', 'stroke-linecap', 'opacity', 'fill-opacity',
  'font-family', 'font-size', 'font-weight', 'text-anchor', 'dominant-baseline', 'transform', 'class',
]);
/** `name="value"` with a value free of markup and of anything that could load or run something. */
const ATTR_RE = /\s+([A-Za-z][A-Za-z0-9:-]*)="([^"<>]*)"/y;
const SAFE_VALUE = /^(?!.*(?:url\s*\(|javascript:|data:|https?:|\/\/)).*$/i;
const XMLNS_SVG = 'http://www.w3.org/2000/svg';

/** Throws a DiffiqaError unless `svg` is a single inert `<svg>` element built only from allowlisted markup. */
export function assertSafeSvg(svg: string, name: string): void {
  const fail = (why: string, at: number): never => {
    const snippet = svg.slice(Math.max(0, at - 20), at + 40).replace(/\s+/g, ' ');
    throw new DiffiqaError(`SVG for '${name}' cannot be inlined in the report: ${why} near "${snippet}"`, 'E_REPORT');
  };
  const body = svg.replace(/^\s*<\?xml[^<>]*\?>/, '');
  if (!/^\s*<svg[\s>]/.test(body)) fail('it does not start with <svg>', 0);
  let depth = 0;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const textEnd = lt < 0 ? body.length : lt;
    checkText(body.slice(i, textEnd), i, fail);
    if (lt < 0) break;
    i = scanTag(body, lt, fail, (delta) => {
      depth += delta;
      if (depth < 0) fail('unbalanced closing tag', lt);
    });
    if (depth === 0 && body.slice(i).trim() !== '') fail('content after the closing </svg>', i);
  }
  if (depth !== 0) fail('unclosed element', body.length);
}

/** Text between tags may hold only entity references that XML knows (no stray '&', no '>'). */
function checkText(text: string, at: number, fail: (why: string, at: number) => never): void {
  if (/>/.test(text)) fail("unescaped '>' in text", at);
  const bad = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(text);
  if (bad) fail("unescaped '&' in text", at + bad.index);
}

/** Checks the tag starting at `lt`; returns the index after it and reports its depth change. */
function scanTag(body: string, lt: number, fail: (why: string, at: number) => never, nest: (delta: number) => void): number {
  const close = /^<\/([A-Za-z][A-Za-z0-9-]*)\s*>/.exec(body.slice(lt, lt + 64));
  if (close) {
    if (!TAGS.has(close[1] as string)) fail(`element <${close[1]}> is not allowed`, lt);
    nest(-1);
    return lt + close[0].length;
  }
  const open = /^<([A-Za-z][A-Za-z0-9-]*)/.exec(body.slice(lt, lt + 64));
  if (!open || !TAGS.has(open[1] as string)) fail(`element ${open ? `<${open[1]}>` : 'markup'} is not allowed`, lt);
  const tag = (open as RegExpExecArray)[1] as string;
  let j = lt + (open as RegExpExecArray)[0].length;
  for (;;) {
    ATTR_RE.lastIndex = j;
    const m = ATTR_RE.exec(body);
    if (!m) break;
    const [, attr, value] = m as unknown as [string, string, string];
    if (!ATTRS.has(attr)) fail(`attribute ${attr} is not allowed`, j);
    if (attr === 'xmlns' ? value !== XMLNS_SVG : !SAFE_VALUE.test(value)) fail(`attribute ${attr}="${value}" is not allowed`, j);
    checkText(value, j, fail);
    j = ATTR_RE.lastIndex;
  }
  const end = /^\s*(\/?)>/.exec(body.slice(j, j + 16));
  if (!end) fail(`malformed <${tag}> tag`, j);
  if ((end as RegExpExecArray)[1] !== '/') nest(1);
  return j + (end as RegExpExecArray)[0].length;
}
