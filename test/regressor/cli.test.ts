import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { scoreCommand } from '../../src/cli/score.js';
import { trainRegressorCommand } from '../../src/cli/train-regressor.js';
import { withGlobalOptions } from '../../src/cli/common.js';
import { readResults } from '../../src/pipelines/records.js';
import { writeSyntheticFaces } from './synthetic.js';

const model = fileURLToPath(new URL('../fixtures/regressor/diffiqa_r_tiny.pth', import.meta.url));

function cli(argv: string[]) {
  return withGlobalOptions(yargs(argv))
    .command(scoreCommand)
    .command(trainRegressorCommand)
    .strict()
    .wrap(null)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .exitProcess(false);
}

describe('CLI: score and train-regressor', () => {
  it('score writes one row per image to the requested file', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scorecli-'));
    await writeSyntheticFaces(root, 2, 2, 48);
    const out = path.join(root, 'q.jsonl');
    await cli(['score', root, '--model', model, '--out', out, '--batch', '3', '--backend', 'cpu']).parseAsync();
    expect(readResults(out)).toHaveLength(4);
  });

  it('score --align says what is missing; --help shows examples', async () => {
    await expect(cli(['score', 'x', '--model', model, '--align']).parseAsync()).rejects.toThrow(/--align needs face alignment \(src\/fr\/align\)/);
    let help = '';
    await cli([]).parseAsync(['train-regressor', '--help'], {}, (_e: unknown, _a: unknown, output: string) => {
      help = output;
    });
    expect(help).toMatch(/Examples:[\s\S]*train-regressor --config configs\/regressor\/ediffiqa-mobileface\.yaml/);
  });
});
