/**
 * A small static HTTP server for the browser scorer: it answers GET and HEAD for the site's own files (held in
 * memory, so no request can reach any other file) and nothing else. It binds 127.0.0.1 unless told otherwise.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiffiqaError } from '../util/errors.js';
import type { Site } from './site.js';

/** Options of `serveSite`. */
export interface ServeOptions {
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Address to bind. Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Called once per request with its method, path and status (for logs and tests). */
  onRequest?: (method: string, path: string, status: number) => void;
}

/** A running server; `close()` stops it. */
export interface RunningServer {
  /** e.g. http://127.0.0.1:8080/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The site file a request path names: `/` is index.html; anything not in the site is undefined. */
function lookup(site: Site, rawPath: string): string | undefined {
  let p: string;
  try {
    p = decodeURIComponent(rawPath.split('?')[0] as string);
  } catch {
    return undefined;
  }
  const name = p === '/' ? 'index.html' : p.replace(/^\//, '');
  return site.files.has(name) ? name : undefined;
}

/**
 * Serves `site` until `close()`.
 * @throws DiffiqaError naming the address when it cannot be bound (in use, no permission)
 */
export async function serveSite(site: Site, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const reqPath = req.url ?? '/';
    const name = lookup(site, reqPath);
    let status = 200;
    if (method !== 'GET' && method !== 'HEAD') {
      status = 405;
      res.setHeader('allow', 'GET, HEAD');
    } else if (!name) status = 404;
    res.statusCode = status;
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-cache');
    if (status === 200 && name) {
      const file = site.files.get(name)!;
      const body = typeof file.data === 'string' ? Buffer.from(file.data, 'utf8') : file.data;
      res.setHeader('content-type', file.type);
      res.setHeader('content-length', body.byteLength);
      res.end(method === 'HEAD' ? undefined : body);
    } else {
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(status === 404 ? 'not found\n' : 'method not allowed\n');
    }
    opts.onRequest?.(method, reqPath, status);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new DiffiqaError(`cannot serve on ${host}:${opts.port ?? 8080}: ${err.code ?? err.message}`, 'E_SERVE')));
    server.listen(opts.port ?? 8080, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
