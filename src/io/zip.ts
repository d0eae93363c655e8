/**
 * A minimal, bounds-checked zip reader for the archives torch.save writes (stored entries, zip64 when large)
 * and ordinary deflated ones. Reads the central directory; every offset and size is checked against the
 * buffer so a truncated or hostile file fails with a CheckpointError instead of reading out of range.
 */
import * as zlib from 'node:zlib';
import { CheckpointError } from '../util/errors.js';

/** One archive member. */
export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const MAX_DEFLATE_RATIO = 1032;

/** Random access to the members of a zip archive held in memory. */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;

  /** Parses the central directory of `bytes`; `file` names the source in errors. */
  constructor(
    private readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readCentralDirectory();
  }

  private fail(reason: string, key = ''): never {
    throw new CheckpointError(this.file, key, reason);
  }

  private u16(at: number): number {
    if (at + 2 > this.bytes.length) this.fail(`truncated zip (read at ${at} past ${this.bytes.length} bytes)`);
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    if (at + 4 > this.bytes.length) this.fail(`truncated zip (read at ${at} past ${this.bytes.length} bytes)`);
    return this.view.getUint32(at, true);
  }

  private u64(at: number): number {
    if (at + 8 > this.bytes.length) this.fail(`truncated zip (read at ${at} past ${this.bytes.length} bytes)`);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`zip64 field ${v} too large`);
    return Number(v);
  }

  private findEocd(): number {
    const min = Math.max(0, this.bytes.length - 22 - 0xffff);
    for (let at = this.bytes.length - 22; at >= min; at--) {
      if (this.view.getUint32(at, true) === EOCD_SIG) return at;
    }
    return this.fail('not a zip archive or truncated (no end-of-central-directory record)');
  }

  private readCentralDirectory(): void {
    if (this.bytes.length < 22) this.fail(`not a zip archive (${this.bytes.length} bytes)`);
    const eocd = this.findEocd();
    let count = this.u16(eocd + 10);
    let cdOffset = this.u32(eocd + 16);
    const loc = eocd - 20;
    if (loc >= 0 && this.u32(loc) === ZIP64_LOCATOR_SIG) {
      const z = this.u64(loc + 8);
      if (this.u32(z) !== ZIP64_EOCD_SIG) this.fail('bad zip64 end-of-central-directory record');
      count = this.u64(z + 32);
      cdOffset = this.u64(z + 48);
    }
    let at = cdOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(at) !== CENTRAL_SIG) this.fail(`bad central directory entry ${i} at offset ${at}`);
      const entry = this.readCentralEntry(at);
      this.entries.set(entry.name, entry);
      at += 46 + this.u16(at + 28) + this.u16(at + 30) + this.u16(at + 32);
    }
  }

  private readCentralEntry(at: number): ZipEntry {
    const nameLen = this.u16(at + 28);
    const extraLen = this.u16(at + 30);
    if (at + 46 + nameLen > this.bytes.length) this.fail('truncated zip central directory');
    const name = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at + 46, nameLen).toString('utf8');
    let size = this.u32(at + 24);
    let compressedSize = this.u32(at + 20);
    let localHeaderOffset = this.u32(at + 42);
    // zip64 extended information: present fields follow in this order when the 32-bit field is saturated.
    let e = at + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = this.u16(e);
      const len = this.u16(e + 2);
      if (id === 0x0001) {
        let f = e + 4;
        if (size === 0xffffffff) {
          size = this.u64(f);
          f += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = this.u64(f);
          f += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = this.u64(f);
      }
      e += 4 + len;
    }
    return { name, method: this.u16(at + 10), compressedSize, size, crc32: this.u32(at + 16), localHeaderOffset };
  }

  /** Member names in directory order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * The uncompressed bytes of member `name` (a view into the archive for stored members).
   * @throws CheckpointError when absent, truncated, of an unsupported method, or failing its CRC.
   */
  read(name: string, opts: { verifyCrc?: boolean } = {}): Uint8Array {
    const e = this.entries.get(name);
    if (!e) this.fail('missing archive member', name);
    const at = e.localHeaderOffset;
    if (this.u32(at) !== LOCAL_SIG) this.fail(`bad local header at offset ${at}`, name);
    const start = at + 30 + this.u16(at + 26) + this.u16(at + 28);
    if (start + e.compressedSize > this.bytes.length) {
      this.fail(`truncated: member needs bytes up to ${start + e.compressedSize}, file has ${this.bytes.length}`, name);
    }
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    let data: Uint8Array;
    if (e.method === 0) data = raw;
    else if (e.method === 8) data = inflate(raw, e.size, (reason) => this.fail(reason, name));
    else return this.fail(`unsupported zip compression method ${e.method}`, name);
    if (data.length !== e.size) this.fail(`size ${data.length} does not match directory size ${e.size}`, name);
    if (opts.verifyCrc && zlib.crc32(data) !== e.crc32) this.fail('CRC mismatch (corrupted member)', name);
    return data;
  }
}

function inflate(raw: Uint8Array, size: number, onError: (reason: string) => never): Uint8Array {
  // Deflate expands at most ~1032:1, so a larger declared size is a lie: refused before inflating.
  if (size > MAX_DEFLATE_RATIO * raw.length + 1024) return onError(`declared size ${size} is impossible for ${raw.length} deflated bytes`);
  try {
    // maxOutputLength bounds a decompression bomb to the size the directory declares.
    return zlib.inflateRawSync(raw, { maxOutputLength: Math.max(size, 1) });
  } catch {
    return onError('corrupt deflate stream');
  }
}
