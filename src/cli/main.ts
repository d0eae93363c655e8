#!/usr/bin/env node
/** The `diffiqa` command line: one file per subcommand, registered here. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DiffiqaError } from '../util/errors.js';
import { reportError, withGlobalOptions } from './common.js';
import { commands } from './commands.js';

async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    let y = withGlobalOptions(yargs(argv).scriptName('diffiqa'));
    for (const c of commands) y = y.command(c);
    await y
      .demandCommand(1, 'Name a command; see diffiqa --help')
      .strict()
      .recommendCommands()
      .fail((msg, err) => {
        throw err ?? new DiffiqaError(`${msg} (see diffiqa --help)`, 'E_USAGE');
      })
      .help()
      .wrap(Math.min(110, process.stdout.columns ?? 110))
      .parseAsync();
    return 0;
  } catch (err) {
    return reportError(err, verbose);
  }
}

main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
