/**
 * Worker-thread entry of `WorkerPairLoader`: builds training pairs off the main thread, so that the JS
 * degradation maths runs in parallel with a training step. Messages in: `PairRequest`; out: `PairReply`.
 */
import { parentPort } from 'node:worker_threads';
import { DataError, describeError } from '../util/errors.js';
import { Rng, type RngState } from '../util/rng.js';
import type { RgbImage } from './image.js';
import { type TrainingPairOptions, loadTrainingPair } from './training-pair.js';

/** A request to build one pair. */
export interface PairRequest {
  id: number;
  path: string;
  rngState: RngState;
  options: TrainingPairOptions;
}

/** The answer: the pair (buffers transferred), or the error (DataError fields kept). */
export type PairReply =
  | { id: number; ok: true; hq: RgbImage; lq: RgbImage }
  | { id: number; ok: false; dataError: boolean; file: string; message: string };

function ownBuffer(img: RgbImage): RgbImage {
  const whole = img.data.byteOffset === 0 && img.data.byteLength === img.data.buffer.byteLength;
  return whole ? img : { width: img.width, height: img.height, data: img.data.slice() };
}

const port = parentPort;
if (port) {
  port.on('message', (req: PairRequest) => {
    loadTrainingPair(req.path, Rng.fromState(req.rngState), req.options).then(
      (pair) => {
        const hq = ownBuffer(pair.hq);
        const lq = ownBuffer(pair.lq);
        const reply: PairReply = { id: req.id, ok: true, hq, lq };
        port.postMessage(reply, [hq.data.buffer as ArrayBuffer, lq.data.buffer as ArrayBuffer]);
      },
      (err: unknown) => {
        const reply: PairReply =
          err instanceof DataError
            ? { id: req.id, ok: false, dataError: true, file: err.file, message: err.reason }
            : { id: req.id, ok: false, dataError: false, file: req.path, message: describeError(err) };
        port.postMessage(reply);
      },
    );
  });
}
