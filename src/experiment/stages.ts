/**
 * Stage bookkeeping of a long experiment: `<out>/stages.json` records every finished stage with the settings it
 * ran with and its wall time. A rerun skips finished stages whose settings are unchanged; a stage that was
 * killed simply runs again and continues from its own partial outputs (trainer checkpoints, labeller and scorer
 * rows, embedding caches). A finished stage whose settings changed is an error rather than a silent mix of old
 * and new results. The file records its format version and the diffiqa version that wrote it; a log without one
 * (written before versioning) is version 1, a newer one is refused (src/util/format-version.ts).
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../util/atomic.js';
import { ConfigError, DataError } from '../util/errors.js';
import { FORMATS, checkFormatVersion, versionStamp } from '../util/format-version.js';

/** One finished stage. */
export interface StageRecord {
  name: string;
  /** sha256 of the stage's settings (JSON). */
  settings: string;
  seconds: number;
  finishedAt: string;
}

/** Hash of a stage's settings. */
function fingerprint(settings: unknown): string {
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
}

/** The stage log of one output folder. */
export class StageLog {
  private readonly records: StageRecord[];

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
  ) {
    this.records = StageLog.read(file);
  }

  private static read(file: string): StageRecord[] {
    if (!fs.existsSync(file)) return [];
    let parsed: { formatVersion?: unknown; diffiqaVersion?: unknown; stages?: StageRecord[] };
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof parsed;
      if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.stages)) throw new Error('no "stages" list');
    } catch (err) {
      throw new DataError(file, `unreadable stage log (${(err as Error).message}); delete it to rerun every stage`);
    }
    // Outside the try: a newer format is not "unreadable", and deleting the log is not the advice to give.
    checkFormatVersion('stages', file, parsed.formatVersion, parsed.diffiqaVersion);
    return parsed.stages;
  }

  /** Finished stages in the order they finished. */
  get finished(): readonly StageRecord[] {
    return this.records;
  }

  /**
   * Runs `fn` unless the stage already finished with the same settings; records it when it returns.
   * @throws ConfigError when the stage finished earlier with other settings
   */
  async run<T>(name: string, settings: unknown, fn: () => Promise<T>): Promise<T | undefined> {
    const hash = fingerprint(settings);
    const done = this.records.find((r) => r.name === name);
    if (done && done.settings !== hash) {
      throw new ConfigError(this.file, name, `stage '${name}' already ran with other settings; use a new output folder (or delete this stage's outputs and its entry)`);
    }
    if (done) {
      this.log(`experiment: ${name}: done earlier (${done.seconds.toFixed(0)} s), skipped`);
      return undefined;
    }
    this.log(`experiment: ${name}`);
    const t0 = Date.now();
    const result = await fn();
    const seconds = (Date.now() - t0) / 1000;
    this.records.push({ name, settings: hash, seconds, finishedAt: new Date().toISOString() });
    const log = { format: FORMATS.stages.name, ...versionStamp('stages'), stages: this.records };
    writeFileAtomic(this.file, `${JSON.stringify(log, null, 2)}\n`);
    this.log(`experiment: ${name}: ${seconds.toFixed(0)} s`);
    return result;
  }
}
