/**
 * A restricted Python pickle reader (protocols 2-5, the opcodes torch.save emits plus the common container
 * ones). It never imports or runs anything: a GLOBAL/STACK_GLOBAL resolves only through the caller's
 * allow-list, and anything else is refused with a CheckpointError naming the global. Memo size, stack size,
 * MARK nesting and integer widths are bounded so that a hostile file cannot exhaust memory.
 *
 * Values map to JS as: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
 * str → string, bytes → Uint8Array, list/tuple → array (tuples frozen), dict/OrderedDict → Map, set → Set.
 *
 * Why hand-written: it reads weight files from anywhere (the authors' `.pth`, insightface's backbones), and its
 * safety is the allow-list and the bounds above, which must hold before anything is built. A general unpickler
 * would resolve globals and size its stacks by its own rules, and we would have to audit those rules in every
 * version of it; here they are a few hundred lines that test/io/pickle.test.ts and the reader fuzzer
 * (test/robustness/fuzz.test.ts) exercise directly.
 */
import { CheckpointError, DiffiqaError, describeError } from '../util/errors.js';

/** A resolved, allow-listed global. `call` implements REDUCE/NEWOBJ on it; absent means "not callable". */
export interface PickleGlobal {
  readonly module: string;
  readonly name: string;
  readonly call?: (args: readonly unknown[]) => unknown;
  /** BUILD on an object this global produced (e.g. OrderedDict attribute state); absent: BUILD is refused. */
  readonly build?: (obj: unknown, state: unknown) => unknown;
}

/** Resource limits for one unpickling. */
export interface PickleLimits {
  maxMemo: number;
  maxStack: number;
  maxMarkDepth: number;
  /** Maximum bytes in one LONG4 integer. */
  maxLongBytes: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = { maxMemo: 1_000_000, maxStack: 1_000_000, maxMarkDepth: 1000, maxLongBytes: 64 };

export interface PickleOptions {
  /** The allow-list: returns the global for `module.name`, or undefined to refuse it. */
  resolveGlobal(module: string, name: string): PickleGlobal | undefined;
  /** Handles BINPERSID/PERSID; absent means persistent ids are refused. */
  persistentLoad?(pid: unknown): unknown;
  limits?: Partial<PickleLimits>;
  /** Names the source in errors. */
  file?: string;
}

/** Unpickles `data` under the restrictions of `opts`. */
export function unpickle(data: Uint8Array, opts: PickleOptions): unknown {
  return new Unpickler(data, opts).run();
}

class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  private readonly marks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;
  private readonly limits: PickleLimits;
  private readonly file: string;
  private readonly built = new WeakMap<object, PickleGlobal>();

  constructor(
    private readonly data: Uint8Array,
    private readonly opts: PickleOptions,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.limits = { ...DEFAULT_PICKLE_LIMITS, ...opts.limits };
    this.file = opts.file ?? '<pickle>';
  }

  private fail(reason: string, key = ''): never {
    throw new CheckpointError(this.file, key, `pickle: ${reason} (at byte ${this.pos})`);
  }

  private need(n: number): number {
    if (n < 0 || this.pos + n > this.data.length) this.fail(`truncated: needs ${n} more bytes`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private u8(): number {
    return this.data[this.need(1)] as number;
  }
  private u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  private u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  private u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(this.data.length)) this.fail(`length ${v} exceeds the data`);
    return Number(v);
  }
  private bytes(n: number): Uint8Array {
    const at = this.need(n);
    return new Uint8Array(this.data.subarray(at, at + n)); // a plain copy, even when data is a Buffer
  }
  private text(n: number): string {
    const at = this.need(n);
    return Buffer.from(this.data.buffer, this.data.byteOffset + at, n).toString('utf8');
  }
  private line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated: unterminated text line');
    const s = Buffer.from(this.data.buffer, this.data.byteOffset + this.pos, end - this.pos).toString('latin1');
    this.pos = end + 1;
    return s;
  }

  private push(v: unknown): void {
    if (this.stack.length >= this.limits.maxStack) this.fail(`stack exceeds ${this.limits.maxStack} items`);
    this.stack.push(v);
  }
  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  private pushMark(): void {
    if (this.marks.length >= this.limits.maxMarkDepth) this.fail(`nesting deeper than ${this.limits.maxMarkDepth}`);
    this.marks.push(this.stack);
    this.stack = [];
  }
  private popMark(): unknown[] {
    const items = this.stack;
    const prev = this.marks.pop();
    if (!prev) this.fail('MARK expected');
    this.stack = prev;
    return items;
  }
  private put(i: number): void {
    if (!this.memo.has(i) && this.memo.size >= this.limits.maxMemo) this.fail(`memo exceeds ${this.limits.maxMemo} entries`);
    this.memo.set(i, this.top());
  }
  private get(i: number): void {
    if (!this.memo.has(i)) this.fail(`memo key ${i} not defined`);
    this.push(this.memo.get(i));
  }

  private global(module: string, name: string): void {
    const g = this.opts.resolveGlobal(module, name);
    if (!g) this.fail(`refusing global '${module}.${name}' (not on the allow-list)`, `${module}.${name}`);
    this.push(g);
  }

  private callGlobal(fn: unknown, args: unknown): void {
    if (!isGlobal(fn) || !fn.call) this.fail(`cannot call ${describe(fn)}`);
    if (!Array.isArray(args)) this.fail(`arguments of ${fn.module}.${fn.name} are not a tuple`);
    let out: unknown;
    try {
      out = fn.call(args);
    } catch (err) {
      // The allow-listed callables check their arguments; anything else they throw still names the file.
      if (err instanceof DiffiqaError) throw err;
      this.fail(`${fn.module}.${fn.name}: ${describeError(err)}`);
    }
    if (typeof out === 'object' && out !== null) this.built.set(out, fn);
    this.push(out);
  }

  private build(): void {
    const state = this.pop();
    const obj = this.top();
    const g = typeof obj === 'object' && obj !== null ? this.built.get(obj) : undefined;
    if (!g?.build) this.fail(`BUILD is not allowed on ${describe(obj)}`);
    g.build(obj, state);
  }

  private setItems(target: unknown, items: readonly unknown[]): void {
    if (!(target instanceof Map)) this.fail(`SETITEM(S) on ${describe(target)}`);
    if (items.length % 2) this.fail('odd number of SETITEMS entries');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  private appendItems(target: unknown, items: readonly unknown[]): void {
    // One push per item: spreading a 100,000-item APPENDS into push() overflows the call stack.
    if (Array.isArray(target) && !Object.isFrozen(target)) for (const x of items) target.push(x);
    else if (target instanceof Set) for (const x of items) target.add(x);
    else this.fail(`APPEND(S) on ${describe(target)}`);
  }

  private long(n: number): number | bigint {
    if (n > this.limits.maxLongBytes) this.fail(`integer of ${n} bytes exceeds ${this.limits.maxLongBytes}`);
    const b = this.bytes(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
    if (n > 0 && (b[n - 1] as number) & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private persistent(pid: unknown): void {
    if (!this.opts.persistentLoad) this.fail('persistent ids are not allowed here');
    this.push(this.opts.persistentLoad(pid));
  }

  run(): unknown {
    for (;;) {
      const op = this.u8();
      if (op === 0x2e) return this.pop(); // STOP
      this.step(op);
    }
  }

  // One opcode. Grouped by kind; codes per Python's pickletools.
  private step(op: number): void {
    switch (op) {
      case 0x80: // PROTO
        if (this.u8() > 5) this.fail('unsupported pickle protocol');
        return;
      case 0x95: // FRAME (length is advisory)
        this.need(8);
        return;
      case 0x28: // MARK
        return this.pushMark();
      case 0x30: // POP
        this.pop();
        return;
      case 0x31: // POP_MARK
        this.popMark();
        return;
      case 0x32: // DUP
        return this.push(this.top());
      case 0x4e: // NONE
        return this.push(null);
      case 0x88: // NEWTRUE
        return this.push(true);
      case 0x89: // NEWFALSE
        return this.push(false);
      case 0x4a: // BININT
        return this.push(this.view.getInt32(this.need(4), true));
      case 0x4b: // BININT1
        return this.push(this.u8());
      case 0x4d: // BININT2
        return this.push(this.u16());
      case 0x8a: // LONG1
        return this.push(this.long(this.u8()));
      case 0x8b: // LONG4
        return this.push(this.long(this.u32()));
      case 0x49: // INT (text; protocol 0 bools are I00/I01)
        return this.push(parseTextInt(this.line(), () => this.fail('bad INT')));
      case 0x47: // BINFLOAT (big-endian double)
        return this.push(this.view.getFloat64(this.need(8), false));
      case 0x58: // BINUNICODE
        return this.push(this.text(this.u32()));
      case 0x8c: // SHORT_BINUNICODE
        return this.push(this.text(this.u8()));
      case 0x8d: // BINUNICODE8
        return this.push(this.text(this.u64()));
      case 0x54: // BINSTRING (py2 str)
        return this.push(this.text(this.u32()));
      case 0x55: // SHORT_BINSTRING
        return this.push(this.text(this.u8()));
      case 0x42: // BINBYTES
        return this.push(this.bytes(this.u32()));
      case 0x43: // SHORT_BINBYTES
        return this.push(this.bytes(this.u8()));
      case 0x8e: // BINBYTES8
        return this.push(this.bytes(this.u64()));
      case 0x96: // BYTEARRAY8
        return this.push(this.bytes(this.u64()));
      default:
        return this.stepContainer(op);
    }
  }

  private stepContainer(op: number): void {
    switch (op) {
      case 0x5d: // EMPTY_LIST
        return this.push([]);
      case 0x7d: // EMPTY_DICT
        return this.push(new Map());
      case 0x29: // EMPTY_TUPLE
        return this.push(Object.freeze([]));
      case 0x8f: // EMPTY_SET
        return this.push(new Set());
      case 0x6c: // LIST
        return this.push(this.popMark());
      case 0x74: // TUPLE
        return this.push(Object.freeze(this.popMark()));
      case 0x85: // TUPLE1
        return this.push(Object.freeze([this.pop()]));
      case 0x86: {
        // TUPLE2
        const b = this.pop();
        return this.push(Object.freeze([this.pop(), b]));
      }
      case 0x87: {
        // TUPLE3
        const c = this.pop();
        const b = this.pop();
        return this.push(Object.freeze([this.pop(), b, c]));
      }
      case 0x64: {
        // DICT
        const m = new Map();
        this.setItems(m, this.popMark());
        return this.push(m);
      }
      case 0x91: // FROZENSET
        return this.push(new Set(this.popMark()));
      case 0x61: {
        // APPEND
        const v = this.pop();
        return this.appendItems(this.top(), [v]);
      }
      case 0x65: {
        // APPENDS
        const items = this.popMark();
        return this.appendItems(this.top(), items);
      }
      case 0x90: {
        // ADDITEMS
        const items = this.popMark();
        return this.appendItems(this.top(), items);
      }
      case 0x73: {
        // SETITEM
        const v = this.pop();
        const k = this.pop();
        return this.setItems(this.top(), [k, v]);
      }
      case 0x75: {
        // SETITEMS
        const items = this.popMark();
        return this.setItems(this.top(), items);
      }
      default:
        return this.stepObject(op);
    }
  }

  private stepObject(op: number): void {
    switch (op) {
      case 0x71: // BINPUT
        return this.put(this.u8());
      case 0x72: // LONG_BINPUT
        return this.put(this.u32());
      case 0x94: // MEMOIZE
        return this.put(this.memo.size);
      case 0x70: // PUT (text)
        return this.put(parseTextInt(this.line(), () => this.fail('bad PUT')));
      case 0x68: // BINGET
        return this.get(this.u8());
      case 0x6a: // LONG_BINGET
        return this.get(this.u32());
      case 0x67: // GET (text)
        return this.get(parseTextInt(this.line(), () => this.fail('bad GET')));
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = this.line();
        return this.global(module, this.line());
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
        return this.global(module, name);
      }
      case 0x52: {
        // REDUCE
        const args = this.pop();
        return this.callGlobal(this.pop(), args);
      }
      case 0x81: {
        // NEWOBJ cls.__new__(cls, *args)
        const args = this.pop();
        return this.callGlobal(this.pop(), args);
      }
      case 0x62: // BUILD
        return this.build();
      case 0x51: // BINPERSID
        return this.persistent(this.pop());
      default:
        return this.fail(`unsupported or forbidden opcode 0x${op.toString(16)}`);
    }
  }
}

function parseTextInt(s: string, onError: () => never): number {
  const v = Number.parseInt(s.trim(), 10);
  return Number.isSafeInteger(v) ? v : onError();
}

function isGlobal(v: unknown): v is PickleGlobal {
  return typeof v === 'object' && v !== null && 'module' in v && 'name' in v && !(v instanceof Map);
}

function describe(v: unknown): string {
  if (isGlobal(v)) return `${v.module}.${v.name}`;
  if (v === null) return 'None';
  if (v instanceof Map) return 'a dict';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'a tuple' : 'a list';
  return typeof v;
}
