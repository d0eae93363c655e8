/** The diffiqa CLI run in the test's own process: the given commands with the global options, errors thrown. */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { withGlobalOptions } from '../../src/cli/common.js';

/**
 * A parser factory for `commands` as `diffiqa` registers them (strict, global options), that throws a command's
 * error or a usage error instead of printing it and exiting: `await cli(['score', ...]).parseAsync()`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function inProcessCli(...commands: CommandModule<any, any>[]): (argv: string[]) => Argv {
  return (argv) => {
    let parser: Argv = withGlobalOptions(yargs(argv));
    for (const command of commands) parser = parser.command(command);
    return parser
      .strict()
      .wrap(null)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .exitProcess(false);
  };
}
