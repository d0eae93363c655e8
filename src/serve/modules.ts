/**
 * The project's own modules as browser ES modules: the page's entry and every module it imports, followed through
 * relative imports, each compiled to JavaScript. Under a built package they are the `dist/src/**.js` files tsc
 * wrote; run from the sources (tsx, vitest) the `.ts` files are transpiled here with the `typescript` package (a
 * devDependency, present wherever the sources run; no bundler is involved).
 *
 * Only pure modules may reach the browser. An import of a Node built-in or of a package is refused, naming the
 * chain of modules that leads to it, unless the page's import map supplies it (`replaced`, `bare`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiffiqaError } from '../util/errors.js';

/** The source root: `src/` under tsx, `dist/src/` in a built package. */
export const SOURCE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Options of `collectBrowserModules`. */
export interface CollectOptions {
  /** Module paths (relative to the source root, `.js`) that the import map swaps for a browser version. */
  replaced?: readonly string[];
  /** Package names the import map supplies. */
  bare?: readonly string[];
  /** Source root to read (default `SOURCE_ROOT`). */
  root?: string;
}

// The compiled output of tsc and of ts.transpileModule: one static import or re-export per statement.
const IMPORT_RE = /^\s*(?:import|export)\s*(?:[\w*{}\s,$]*?\sfrom\s*)?["']([^"']+)["'];?\s*$/gm;

/** The specifiers a compiled ES module imports statically. */
export function importSpecifiers(code: string): string[] {
  return [...code.matchAll(IMPORT_RE)].map((m) => m[1] as string);
}

type Transpile = (source: string, fileName: string) => string;

async function loadTranspiler(file: string): Promise<Transpile> {
  let ts: typeof import('typescript');
  try {
    ts = (await import('typescript')).default;
  } catch {
    throw new DiffiqaError(`cannot compile ${file} for the browser: the 'typescript' package is not installed (it is needed only when diffiqa runs from its sources; a built package serves dist/)`, 'E_SERVE');
  }
  return (source, fileName) => {
    const out = ts.transpileModule(source, {
      fileName,
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, sourceMap: false, removeComments: false },
    });
    const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length > 0) throw new DiffiqaError(`cannot compile ${fileName} for the browser: ${ts.flattenDiagnosticMessageText(errors[0]?.messageText ?? '', ' ')}`, 'E_SERVE');
    return out.outputText;
  };
}

/**
 * Compiles `entries` (module paths relative to the source root, written with `.js` as in import statements, e.g.
 * `serve/page/main.js`) and everything they import, for the browser.
 * @returns module path (`fr/warp.js`) -> JavaScript source
 * @throws DiffiqaError naming the module (and who imports it) when one is missing, cannot be compiled, or imports
 *   something a browser cannot load
 */
export async function collectBrowserModules(entries: readonly string[], opts: CollectOptions = {}): Promise<Map<string, string>> {
  const root = opts.root ?? SOURCE_ROOT;
  const replaced = new Set(opts.replaced ?? []);
  const bare = new Set(opts.bare ?? []);
  const out = new Map<string, string>();
  const importer = new Map<string, string>();
  let transpile: Transpile | undefined;
  const chain = (mod: string): string => {
    const parts = [mod];
    for (let m = importer.get(mod); m; m = importer.get(m)) parts.push(m);
    return parts.reverse().join(' -> ');
  };
  const queue = [...entries];
  while (queue.length > 0) {
    const mod = queue.shift() as string;
    if (out.has(mod)) continue;
    const js = path.join(root, mod);
    const ts = js.replace(/\.js$/, '.ts');
    let code: string;
    if (fs.existsSync(js)) code = fs.readFileSync(js, 'utf8');
    else if (fs.existsSync(ts)) {
      transpile ??= await loadTranspiler(ts);
      code = transpile(fs.readFileSync(ts, 'utf8'), ts);
    } else throw new DiffiqaError(`cannot serve ${chain(mod)}: no ${js} or ${ts}`, 'E_SERVE');
    out.set(mod, code);
    for (const spec of importSpecifiers(code)) {
      if (bare.has(spec)) continue;
      if (!spec.startsWith('.')) {
        throw new DiffiqaError(`cannot serve ${chain(mod)} to the browser: it imports '${spec}', which a browser cannot load (the page may only use modules without Node built-ins or packages)`, 'E_SERVE');
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(mod), spec));
      if (target.startsWith('..')) throw new DiffiqaError(`cannot serve ${chain(mod)}: it imports '${spec}', outside the source root`, 'E_SERVE');
      if (replaced.has(target) || out.has(target)) continue;
      if (!importer.has(target)) importer.set(target, mod);
      queue.push(target);
    }
  }
  return out;
}
