/**
 * safetensors read/write (https://github.com/huggingface/safetensors format): an 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets:[begin,end]}, __metadata__?: {str: str}}, then
 * the raw little-endian tensor bytes, which the tensors tile exactly. We write F32 only and read F32/F16/BF16/F64
 * (converted to float32).
 */
import * as fs from 'node:fs';
import type { HostTensor } from '../nn/params.js';
import { CheckpointError, previewValue } from '../util/errors.js';
import { bf16ToFloat32, halfToFloat32 } from './half.js';

/** Decoded file: tensors in header order and the string metadata. */
export interface SafetensorsFile {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

/** Header size cap: a hostile header length cannot make us allocate more than this. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/**
 * Encodes tensors (float32) and string metadata into safetensors bytes. Tensors are laid out in the map's
 * order, 8-byte aligned header (padded with spaces, as the reference writer). Returns the bytes so the
 * caller can write them atomically.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new CheckpointError('<safetensors>', name, `shape [${t.shape}] does not match ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, pos); // host is little-endian (Node on x86/ARM)
    pos += bytes.length;
  }
  return out;
}

/** Alias of encodeSafetensors under the name the brief uses. */
export const writeSafetensors = encodeSafetensors;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function parseHeader(bytes: Uint8Array, file: string): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) throw new CheckpointError(file, '', `not a safetensors file: ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getBigUint64(0, true);
  if (len > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw new CheckpointError(file, '', `safetensors header length ${len} exceeds the file (${bytes.length} bytes) or the limit`);
  }
  const n = Number(len);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
  } catch (err) {
    throw new CheckpointError(file, '', `invalid safetensors header JSON: ${(err as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError(file, '', 'safetensors header is not a JSON object');
  }
  return { header: header as Record<string, unknown>, dataStart: 8 + n };
}

function checkEntry(name: string, e: unknown, dataLen: number, file: string): HeaderEntry {
  const entry = e as Partial<HeaderEntry> | null;
  if (!entry || typeof entry.dtype !== 'string' || !Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets)) {
    throw new CheckpointError(file, name, 'malformed safetensors header entry');
  }
  const size = Object.hasOwn(DTYPE_BYTES, entry.dtype) ? DTYPE_BYTES[entry.dtype] : undefined;
  if (!size) throw new CheckpointError(file, name, `unsupported dtype ${entry.dtype.slice(0, 40)}; expected F32, F16, BF16 or F64`);
  if (!entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new CheckpointError(file, name, `bad shape ${previewValue(entry.shape)}`);
  const [begin, end] = entry.data_offsets;
  const n = entry.shape.reduce((a, b) => a * b, 1);
  if (entry.data_offsets.length !== 2 || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end > dataLen || end - begin !== n * size) {
    throw new CheckpointError(file, name, `data_offsets ${previewValue(entry.data_offsets)} do not fit ${entry.dtype}${previewValue(entry.shape)} in ${dataLen} data bytes`);
  }
  return entry as HeaderEntry;
}

/**
 * The format's rule that the tensors tile the data exactly (no overlap, no hole, nothing after): without it a
 * header of a few kilobytes could name the same megabytes of data a thousand times.
 */
function checkLayout(entries: ReadonlyArray<[string, HeaderEntry]>, dataLen: number, file: string): void {
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  let at = 0;
  for (const [name, e] of sorted) {
    const [begin, end] = e.data_offsets;
    if (begin !== at) {
      throw new CheckpointError(file, name, begin < at ? `data_offsets [${begin},${end}] overlap another tensor's bytes` : `data bytes ${at}..${begin} belong to no tensor`);
    }
    at = end;
  }
  if (at !== dataLen) throw new CheckpointError(file, '', `data bytes ${at}..${dataLen} belong to no tensor`);
}

function decodeData(bytes: Uint8Array, start: number, e: HeaderEntry): Float32Array {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start + e.data_offsets[0], n * (DTYPE_BYTES[e.dtype] as number));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    switch (e.dtype) {
      case 'F32':
        out[i] = view.getFloat32(4 * i, true);
        break;
      case 'F64':
        out[i] = view.getFloat64(8 * i, true);
        break;
      case 'F16':
        out[i] = halfToFloat32(view.getUint16(2 * i, true));
        break;
      default:
        out[i] = bf16ToFloat32(view.getUint16(2 * i, true));
    }
  }
  return out;
}

/**
 * Decodes safetensors bytes. `file` names the source in errors.
 * @throws CheckpointError on a truncated file, a bad header, an unsupported dtype or out-of-range offsets.
 */
export function decodeSafetensors(bytes: Uint8Array, file = '<safetensors>'): SafetensorsFile {
  const { header, dataStart } = parseHeader(bytes, file);
  const dataLen = bytes.length - dataStart;
  const entries: Array<[string, HeaderEntry]> = [];
  let metadata: Record<string, string> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof e !== 'object' || e === null || Array.isArray(e) || Object.values(e).some((v) => typeof v !== 'string')) {
        throw new CheckpointError(file, name, '__metadata__ must map strings to strings');
      }
      metadata = e as Record<string, string>;
      continue;
    }
    entries.push([name, checkEntry(name, e, dataLen, file)]);
  }
  checkLayout(entries, dataLen, file);
  const tensors = new Map<string, HostTensor>();
  for (const [name, entry] of entries) tensors.set(name, { shape: [...entry.shape], data: decodeData(bytes, dataStart, entry) });
  return { tensors, metadata };
}

/** Reads and decodes a safetensors file. */
export function readSafetensors(file: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new CheckpointError(file, '', `cannot read: ${(err as Error).message}`);
  }
  return decodeSafetensors(bytes, file);
}
