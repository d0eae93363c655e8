/** `diffiqa serve`: the browser scorer, served from this machine or built into a static folder. */
import * as os from 'node:os';
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { serveSite } from '../serve/server.js';
import { assembleSite, writeSite } from '../serve/site.js';
import { DiffiqaError } from '../util/errors.js';
import { startBackend, type GlobalArgs } from './common.js';

interface ServeArgs extends GlobalArgs {
  port: number;
  host: string;
  build?: string;
  model?: string;
  cache?: string;
}

/** The default cache: $XDG_CACHE_HOME/diffiqa, else ~/.cache/diffiqa. */
function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'diffiqa');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export const serveCommand: CommandModule<GlobalArgs, ServeArgs> = {
  command: 'serve',
  describe: 'A web page that scores the faces in photos or webcam frames, entirely in the browser (nothing is uploaded)',
  builder: (y) =>
    y
      .option('port', { type: 'number', default: 8080, describe: 'Port to listen on (0: any free port)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to bind (the default serves this machine only)' })
      .option('build', { type: 'string', describe: 'Write the page as a static folder DIR (for any web server) instead of serving it' })
      .option('model', { type: 'string', describe: 'Regressor to run: best.safetensors or its run folder, or an authors\' .pth (default: the shipped eDifFIQA, models/ediffiqa.md)' })
      .option('cache', { type: 'string', describe: 'Folder for the tfjs export of the model (default: $XDG_CACHE_HOME/diffiqa or ~/.cache/diffiqa)' })
      .check((a) => {
        if (!(Number.isInteger(a.port) && a.port >= 0 && a.port <= 65535)) throw new DiffiqaError(`--port must be an integer from 0 to 65535, got '${a.port}'`, 'E_USAGE');
        return true;
      })
      .example('$0 serve', 'open http://127.0.0.1:8080/ and drop photos on the page')
      .example('$0 serve --build site/', 'the same page as a static folder')
      .example('$0 serve --model checkpoints/ediffiqa-mobileface --port 9000', "a trained run's best model")
      .epilogue(
        'The page decodes each photo, finds and aligns its faces with the same detector, landmarks, 5-point template and warp as ' +
          'diffiqa score --align, and scores them with the tfjs export of the model (WebGL where it renders 32-bit floats, else the ' +
          'cpu backend; ?backend=cpu forces one). It ranks every face on the page. All files come from this server or folder: nothing ' +
          'is fetched from elsewhere and nothing the page reads leaves the browser.',
      ) as never,
  handler: async (args) => {
    await startBackend(args); // the export of the model runs in Node
    const cacheDir = path.resolve(args.cache ?? defaultCacheDir());
    const t0 = Date.now();
    const site = await assembleSite({ model: args.model, cacheDir });
    const what = `${site.model.model} (${path.basename(site.model.source)}, ${site.model.fromCache ? 'tfjs export from the cache' : 'exported to tfjs'} in ${site.model.dir})`;
    if (args.build) {
      writeSite(site, args.build);
      const bytes = [...site.files.values()].reduce((n, f) => n + (typeof f.data === 'string' ? Buffer.byteLength(f.data) : f.data.byteLength), 0);
      process.stderr.write(`diffiqa: wrote the browser scorer for ${what} to ${args.build} (${site.files.size} files, ${(bytes / 1e6).toFixed(1)} MB); serve it with any static web server\n`);
      return;
    }
    if (!isLoopback(args.host)) process.stderr.write(`diffiqa: warning: binding ${args.host} makes the page reachable from other machines\n`);
    const server = await serveSite(site, { port: args.port, host: args.host });
    process.stderr.write(`diffiqa: the browser scorer for ${what} is at ${server.url} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; Ctrl-C stops it)\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
