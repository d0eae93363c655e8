import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ResultWriter,
  errorFileFor,
  finishedPaths,
  mergeResults,
  parseShard,
  readErrors,
  readResults,
  resolveShardSpec,
  selectShard,
} from '../../src/pipelines/records.js';
import { DataError } from '../../src/util/errors.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'records-'));

describe.each(['out.csv', 'out.jsonl'])('result files (%s)', (name) => {
  it('round-trips rows with awkward paths and records errors separately', () => {
    const file = path.join(tmp(), name);
    const w = new ResultWriter(file, ['score', 'a']);
    w.append(
      [
        { path: 'x/plain.jpg', values: { score: 0.5, a: -1.25 } },
        { path: 'x/with, comma "and quotes".jpg', values: { score: 0.75, a: 2 } },
      ],
      [{ path: 'bad.jpg', error: 'truncated JPEG' }],
    );
    const rows = readResults(file);
    expect(rows.map((r) => r.path)).toEqual(['x/plain.jpg', 'x/with, comma "and quotes".jpg']);
    expect(rows[1]!.values).toEqual({ score: 0.75, a: 2 });
    expect(readErrors(file)).toEqual([{ path: 'bad.jpg', error: 'truncated JPEG' }]);
    expect([...finishedPaths(file)].sort()).toEqual(['bad.jpg', 'x/plain.jpg', 'x/with, comma "and quotes".jpg']);
  });

  it('drops a half-written last line left by a kill before appending more', () => {
    const file = path.join(tmp(), name);
    new ResultWriter(file, ['score']).append([{ path: 'a.jpg', values: { score: 1 } }]);
    fs.appendFileSync(file, name.endsWith('.csv') ? 'b.jpg,0.3' : '{"path":"b.jpg","sc');
    new ResultWriter(file, ['score']).append([{ path: 'c.jpg', values: { score: 3 } }]);
    expect(readResults(file).map((r) => r.path)).toEqual(['a.jpg', 'c.jpg']);
  });
});

describe('merge and shards', () => {
  it('merges shards sorted by path, collapses identical duplicates, refuses conflicts', () => {
    const dir = tmp();
    const p1 = path.join(dir, 'p1.csv');
    const p2 = path.join(dir, 'p2.csv');
    new ResultWriter(p1, ['score']).append([{ path: 'b', values: { score: 2 } }], [{ path: 'z', error: 'bad' }]);
    new ResultWriter(p2, ['score']).append([
      { path: 'a', values: { score: 1 } },
      { path: 'b', values: { score: 2 } },
    ]);
    const out = path.join(dir, 'all.csv');
    expect(mergeResults([p1, p2], out)).toEqual({ rows: 2, errors: 1 });
    expect(readResults(out).map((r) => [r.path, r.values.score])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(fs.existsSync(errorFileFor(out))).toBe(true);
    const p3 = path.join(dir, 'p3.csv');
    new ResultWriter(p3, ['score']).append([{ path: 'a', values: { score: 9 } }]);
    expect(() => mergeResults([p2, p3], out)).toThrow(/'a' also appears in .*p2.csv with different values/);
  });

  it('parses K/N and splits items into disjoint covering shards', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('0/3')).toThrow(DataError);
    expect(() => parseShard('4/3')).toThrow(/1 <= K <= N/);
    const items = Array.from({ length: 10 }, (_, i) => i);
    const parts = [1, 2, 3].map((k) => selectShard(items, { index: k, count: 3 }));
    expect(parts.flat().sort((a, b) => a - b)).toEqual(items);
    expect(parts[0]).toEqual([0, 3, 6, 9]);
  });
});

describe('--shard auto/N', () => {
  const none = {};
  it('takes K-1 from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, both 0-based', () => {
    expect([0, 1, 2, 3].map((i) => resolveShardSpec('auto/4', { JOB_COMPLETION_INDEX: String(i) }))).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect([0, 1, 2, 3].map((i) => resolveShardSpec('auto/4', { SLURM_ARRAY_TASK_ID: String(i) }))).toEqual(['1/4', '2/4', '3/4', '4/4']);
    // Both set (a Slurm step inside a pod, say) is fine while they agree; unrelated variables are ignored.
    expect(resolveShardSpec('auto/4', { JOB_COMPLETION_INDEX: '2', SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '9' })).toBe('3/4');
    expect(resolveShardSpec('auto/1', { SLURM_ARRAY_TASK_ID: '0' })).toBe('1/1');
  });

  it('leaves K/N (and anything else not auto) to parseShard, whatever the environment', () => {
    expect(resolveShardSpec('2/3', { JOB_COMPLETION_INDEX: '0' })).toBe('2/3');
    expect(resolveShardSpec('2/3', none)).toBe('2/3');
    expect(() => parseShard(resolveShardSpec(' 3', { JOB_COMPLETION_INDEX: '0' }))).toThrow(/expected K\/N/);
  });

  it('without either variable, an error naming both', () => {
    for (const env of [none, { JOB_COMPLETION_INDEX: '' }, { SLURM_JOB_ID: '17', SLURM_ARRAY_JOB_ID: '17' }]) {
      expect(() => resolveShardSpec('auto/4', env)).toThrow(DataError);
      expect(() => resolveShardSpec('auto/4', env)).toThrow(/^--shard: auto\/4 takes the 0-based shard index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, and neither is set/);
    }
  });

  it('an index outside 0..N-1, a malformed index or N, or two variables that disagree are errors naming the value', () => {
    // SLURM_ARRAY_TASK_ID=4 is what --array=1-4 gives its last task: the message says the array must start at 0.
    expect(() => resolveShardSpec('auto/4', { SLURM_ARRAY_TASK_ID: '4' })).toThrow(/SLURM_ARRAY_TASK_ID=4 is not a 0-based index in 0\.\.3 \(Kubernetes: completions 4; Slurm: --array=0-3\)/);
    expect(() => resolveShardSpec('auto/4', { JOB_COMPLETION_INDEX: '7' })).toThrow(/JOB_COMPLETION_INDEX=7 is not a 0-based index in 0\.\.3/);
    for (const bad of ['-1', '1.5', 'x', '0x1']) expect(() => resolveShardSpec('auto/4', { JOB_COMPLETION_INDEX: bad })).toThrow(DataError);
    for (const spec of ['auto', 'auto/0', 'auto/-2', 'auto/n', 'auto4', 'autox/3']) expect(() => resolveShardSpec(spec, { JOB_COMPLETION_INDEX: '0' })).toThrow(/expected auto\/N with N >= 1/);
    expect(() => resolveShardSpec('auto/4', { JOB_COMPLETION_INDEX: '1', SLURM_ARRAY_TASK_ID: '2' })).toThrow(/JOB_COMPLETION_INDEX=1 and SLURM_ARRAY_TASK_ID=2 disagree/);
  });
});
