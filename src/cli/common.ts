/** Shared CLI plumbing: global options, backend start-up line, and one-line error reporting. */
import * as fs from 'node:fs';
import yaml from 'js-yaml';
import type { Argv } from 'yargs';
import { describeBackend, initBackend } from '../backend/index.js';
import { ConfigError, DiffiqaError } from '../util/errors.js';

/** Options every command accepts. */
export interface GlobalArgs {
  backend?: string;
  verbose?: boolean;
}

/** Adds the global options to a yargs instance. */
export function withGlobalOptions<T>(y: Argv<T>): Argv<T & GlobalArgs> {
  return y
    .option('backend', {
      type: 'string',
      describe: 'Force a compute backend: tensorflow, native or cpu (also DIFFIQA_BACKEND)',
    })
    .option('verbose', { type: 'boolean', default: false, describe: 'Print stack traces on errors' })
    .config('options', 'YAML file of option values (flags given on the command line override it)', readOptionsFile) as Argv<T & GlobalArgs>;
}

/** Reads an --options YAML file; errors name the file. */
function readOptionsFile(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = yaml.load(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(file, '', `cannot read options: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(file, '', 'expected a mapping of option names to values');
  return doc as Record<string, unknown>;
}

/** Starts the backend (forced by --backend or DIFFIQA_BACKEND) and prints which one runs. */
export async function startBackend(args: GlobalArgs): Promise<string> {
  const name = await initBackend(args.backend ?? process.env.DIFFIQA_BACKEND);
  process.stderr.write(`${describeBackend()}\n`);
  return name;
}

/**
 * Runs `job` with a signal that Ctrl-C (SIGINT) or SIGTERM aborts, so the job can finish its step and save; a
 * second Ctrl-C quits at once. The default handlers come back when the job ends.
 */
export async function withStopSignal<T>(job: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`\ndiffiqa: ${name} again: quitting without saving the current step\n`);
      process.exit(130);
    }
    process.stderr.write(`\ndiffiqa: ${name}: stopping after the current step and saving a checkpoint (Ctrl-C again quits now)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await job(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Prints an error as one line (stack only with --verbose) and returns the exit code (130 after an interrupt). */
export function reportError(err: unknown, verbose: boolean): number {
  const known = err instanceof DiffiqaError;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`diffiqa: error: ${verbose ? message : (message.split('\n')[0] ?? message)}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else if (!known) process.stderr.write('diffiqa: (run with --verbose for the stack trace)\n');
  if (known && err.code === 'E_INTERRUPTED') return 130;
  return known ? 1 : 2;
}
