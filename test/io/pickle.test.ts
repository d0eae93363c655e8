import { describe, expect, it } from 'vitest';
import { type PickleOptions, unpickle } from '../../src/io/pickle.js';
import { CheckpointError } from '../../src/util/errors.js';

const none: PickleOptions = { resolveGlobal: () => undefined, file: 'evil.pkl' };
const bytes = (...parts: (number | string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

describe('unpickle', () => {
  it('reads containers and scalars of protocols 2 and 4 (bytes from Python 3.11 pickle.dumps)', () => {
    // pickle.dumps({'a': [1, 2.5, None, True, -7, 2**40], 'b': (3, 'x')}, protocol=2)
    const p2 = Buffer.from(
      '80027d71002858010000006171015d7102284b014740040000000000004e884af9ffffff8a060000000000016558010000006271034b035801000000787104867105752e',
      'hex',
    );
    const out = unpickle(p2, none) as Map<string, unknown>;
    expect(out.get('a')).toEqual([1, 2.5, null, true, -7, 2 ** 40]);
    expect(out.get('b')).toEqual([3, 'x']);
    expect(Object.isFrozen(out.get('b'))).toBe(true);
    // pickle.dumps({'a': [1, 2.5, None, True, -7, 2**40], 'b': (3, 'x'), 'c': frozenset([1]), 'd': b'\x00\x01'}, protocol=4)
    const p4 = Buffer.from(
      '80049545000000000000007d94288c0161945d94284b014740040000000000004e884af9ffffff8a06000000000001658c0162944b038c01789486948c016394284b0191948c0164944302000194752e',
      'hex',
    );
    const out4 = unpickle(p4, none) as Map<string, unknown>;
    expect(out4.get('a')).toEqual([1, 2.5, null, true, -7, 2 ** 40]);
    expect(out4.get('c')).toEqual(new Set([1]));
    expect(out4.get('d')).toEqual(Uint8Array.from([0, 1]));
  });

  it('refuses GLOBAL and STACK_GLOBAL not on the allow-list, naming them', () => {
    const global = bytes(0x80, 2, 'c', 'os\nsystem\n', 0x29, 'R', '.');
    expect(() => unpickle(global, none)).toThrow(CheckpointError);
    expect(() => unpickle(global, none)).toThrow(/evil\.pkl \[os\.system\]: pickle: refusing global 'os\.system'/);
    const stack = bytes(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, '.');
    expect(() => unpickle(stack, none)).toThrow(/refusing global 'builtins\.eval'/);
  });

  it('bounds the memo', () => {
    const puts: number[] = [0x80, 2, 0x4e];
    for (let i = 0; i < 200; i++) puts.push(0x72, i & 255, (i >> 8) & 255, 0, 0); // LONG_BINPUT i
    puts.push(0x2e);
    expect(() => unpickle(Uint8Array.from(puts), { ...none, limits: { maxMemo: 100 } })).toThrow(/memo exceeds 100/);
    // The default limit also stops a file that memoises a million entries (here cut short after the limit).
    const many = new Uint8Array(3 + 5 * 1_000_001 + 1);
    many.set([0x80, 2, 0x4e]);
    for (let i = 0; i <= 1_000_000; i++) many.set([0x72, i & 255, (i >> 8) & 255, (i >> 16) & 255, 0], 3 + 5 * i);
    expect(() => unpickle(many, none)).toThrow(/memo exceeds 1000000/);
  });

  it('bounds nesting depth and stack size', () => {
    const deep = new Uint8Array(5000).fill(0x28); // MARK x 5000
    expect(() => unpickle(deep, none)).toThrow(/nesting deeper than 1000/);
    const dup = Uint8Array.from([0x4e, ...new Array(200).fill(0x32)]); // None, DUP x 200
    expect(() => unpickle(dup, { ...none, limits: { maxStack: 50 } })).toThrow(/stack exceeds 50/);
  });

  it('refuses huge integers, truncated data, forbidden opcodes and bad memo references', () => {
    expect(() => unpickle(bytes(0x8b, [0xff, 0xff, 0xff, 0x7f], '.'), none)).toThrow(/integer of/);
    expect(() => unpickle(bytes(0x80, 2, 0x58, [10, 0, 0, 0], 'abc'), none)).toThrow(/truncated/);
    expect(() => unpickle(bytes(0x80, 2, 0x8e, [0, 0, 0, 0, 0, 0, 0, 1], '.'), none)).toThrow(/exceeds the data/);
    expect(() => unpickle(bytes('i', 'os\nsystem\n'), none)).toThrow(/forbidden opcode 0x69/);
    expect(() => unpickle(bytes(0x68, 5, '.'), none)).toThrow(/memo key 5/);
    expect(() => unpickle(bytes(0x80, 2), none)).toThrow(/truncated/);
    expect(() => unpickle(bytes(0x51, '.'), none)).toThrow(/stack underflow|persistent/);
  });

  it('refuses BUILD and calls on values that are not allow-listed callables', () => {
    expect(() => unpickle(bytes(0x5d, 0x7d, 'b', '.'), none)).toThrow(/BUILD is not allowed/);
    expect(() => unpickle(bytes(0x4e, 0x29, 'R', '.'), none)).toThrow(/cannot call None/);
  });
});
