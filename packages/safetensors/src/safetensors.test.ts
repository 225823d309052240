import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '@tessera/graph-dsl';
import { decodeSafetensors, encodeSafetensors, readSafetensorsFile, SafetensorsError, writeSafetensorsFile } from './index.ts';

const f32 = (shape: number[], values: number[]): HostTensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const dir = mkdtempSync(path.join(tmpdir(), 'tessera-st-'));

/** A file written by hand the way PyTorch-side writers lay it out, for dtypes Tessera never writes. */
function handMade(entries: Record<string, { dtype: string; shape: number[]; bytes: number[] }>, headerOverride?: string): Uint8Array {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, e] of Object.entries(entries)) {
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    offset += e.bytes.length;
  }
  const json = new TextEncoder().encode(headerOverride ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(Object.values(entries).flatMap((e) => e.bytes), 8 + json.length);
  return out;
}
const i64 = (values: bigint[]) => [...new Uint8Array(BigInt64Array.from(values).buffer)];
const u16 = (values: number[]) => [...new Uint8Array(Uint16Array.from(values).buffer)];
const f64 = (values: number[]) => [...new Uint8Array(Float64Array.from(values).buffer)];

describe('safetensors', () => {
  it('round-trips float32, int32 and bool tensors, scalars, empty tensors and metadata', () => {
    const tensors = new Map<string, HostTensor>([
      ['w', f32([2, 3], [1, -2, 3.5, 0, 1e-8, -7])],
      ['lens', { dtype: 'int32', shape: [2], data: Int32Array.of(3, -4) }],
      ['mask', { dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) }],
      ['scalar', f32([], [2.5])],
      ['empty', f32([0, 4], [])],
    ]);
    const { tensors: back, metadata } = decodeSafetensors(encodeSafetensors(tensors, { config: '{"a":1}' }));
    expect(metadata).toEqual({ config: '{"a":1}' });
    for (const [name, t] of tensors) {
      expect(back.get(name)!.dtype).toBe(t.dtype);
      expect(back.get(name)!.shape).toEqual(t.shape);
      expect(Array.from(back.get(name)!.data)).toEqual(Array.from(t.data));
    }
  });

  it('round-trips a plain record and keeps every tensor aligned to its element size', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'bool', shape: [3], data: Uint8Array.of(2, 0, 1) }, b: f32([2], [0.5, -1]) });
    const { tensors } = decodeSafetensors(bytes);
    expect(Array.from(tensors.get('a')!.data)).toEqual([1, 0, 1]);
    expect(Array.from(tensors.get('b')!.data)).toEqual([0.5, -1]);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header.b.data_offsets).toEqual([0, 8]);
    expect(header.a.data_offsets).toEqual([8, 11]);
  });

  it('refuses tensors it cannot write, naming the tensor', () => {
    expect(() => encodeSafetensors({ x: { dtype: 'float64', shape: [1], data: Float32Array.of(1) } as unknown as HostTensor })).toThrow(/tensor 'x' has dtype "float64"; expected one of float32, int32, bool/);
    expect(() => encodeSafetensors({ __metadata__: f32([1], [1]) })).toThrow(/'__metadata__' is reserved/);
    expect(() => encodeSafetensors({ x: f32([1], [1]) }, { epoch: 3 as unknown as string })).toThrow(SafetensorsError);
  });

  it('writes tensors it is asked to narrow as F16 (nearest even) and I8, which read back as float32 and int32', () => {
    const bytes = encodeSafetensors({ h: f32([3], [1 + 2 ** -11, 65520, 2 ** -24]), q: { dtype: 'int32', shape: [2], data: Int32Array.of(-128, 127) }, w: f32([1], [0.5]) }, undefined, 'test', new Map([['h', 'F16'], ['q', 'I8']]));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect([header.w.dtype, header.h.dtype, header.q.dtype]).toEqual(['F32', 'F16', 'I8']);
    const data = bytes.subarray(8 + headerLength);
    expect(Array.from(new Uint16Array(data.slice(header.h.data_offsets[0], header.h.data_offsets[1]).buffer))).toEqual([0x3c00, 0x7c00, 0x0001]);
    expect(Array.from(new Int8Array(data.slice(header.q.data_offsets[0], header.q.data_offsets[1]).buffer))).toEqual([-128, 127]);
    const { tensors, stored } = decodeSafetensors(bytes);
    expect(Array.from(tensors.get('h')!.data)).toEqual([1, Infinity, 2 ** -24]);
    expect(tensors.get('q')).toEqual({ dtype: 'int32', shape: [2], data: Int32Array.of(-128, 127) });
    expect([stored.get('h'), stored.get('q')]).toEqual(['F16', 'I8']);
  });

  it('refuses to narrow what does not fit, naming the tensor', () => {
    expect(() => encodeSafetensors({ q: { dtype: 'int32', shape: [2], data: Int32Array.of(5, 128) } }, undefined, 'cannot write q.safetensors', new Map([['q', 'I8']]))).toThrow(/^cannot write q\.safetensors: tensor 'q' holds 128 at index 1, outside I8's range -128 to 127$/);
    expect(() => encodeSafetensors({ q: f32([1], [1]) }, undefined, 'test', new Map([['q', 'I8']]))).toThrow(/tensor 'q' is float32; only int32 tensors are written as I8/);
    expect(() => encodeSafetensors({ h: { dtype: 'int32', shape: [1], data: Int32Array.of(1) } }, undefined, 'test', new Map([['h', 'F16']]))).toThrow(/tensor 'h' is int32; only float32 tensors are written as F16/);
  });

  it('writes the same bytes whatever the insertion order', () => {
    const a = encodeSafetensors(new Map([['x', f32([1], [1])], ['y', f32([1], [2])]]));
    const b = encodeSafetensors(new Map([['y', f32([1], [2])], ['x', f32([1], [1])]]));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(new DataView(a.buffer).getBigUint64(0, true) % 8n).toBe(0n);
  });

  it("reads PyTorch's int64, float16, bfloat16, float64 and uint8", () => {
    const bytes = handMade({
      i64: { dtype: 'I64', shape: [2], bytes: i64([5n, -3n]) },
      f16: { dtype: 'F16', shape: [3], bytes: u16([0x3c00, 0xc100, 0x7bff]) },
      bf16: { dtype: 'BF16', shape: [4], bytes: u16([0x3fc0, 0x3f80, 0xc020, 0x477f]) },
      i8: { dtype: 'I8', shape: [2], bytes: [0xff, 0x7f] },
      i16: { dtype: 'I16', shape: [1], bytes: u16([0x8000]) },
      f16more: { dtype: 'F16', shape: [4], bytes: u16([0x0001, 0x8000, 0xfc00, 0x3555]) },
      f64: { dtype: 'F64', shape: [1], bytes: f64([0.1]) },
      u8: { dtype: 'U8', shape: [2], bytes: [200, 7] },
    });
    const { tensors, stored } = decodeSafetensors(bytes);
    expect(tensors.get('i64')).toMatchObject({ dtype: 'int32', data: Int32Array.of(5, -3) });
    // what the file said, for messages about a tensor of the wrong dtype
    expect([stored.get('i64'), stored.get('f16'), stored.get('u8')]).toEqual(['I64', 'F16', 'U8']);
    expect(Array.from(tensors.get('f16')!.data)).toEqual([1, -2.5, 65504]);
    expect(Array.from(tensors.get('bf16')!.data)).toEqual([1.5, 1, -2.5, 65280]);
    expect(Array.from(tensors.get('i8')!.data)).toEqual([-1, 127]);
    expect(Array.from(tensors.get('i16')!.data)).toEqual([-32768]);
    const [tiny, negZero, negInf, third] = Array.from(tensors.get('f16more')!.data);
    expect([tiny, negZero, negInf]).toEqual([2 ** -24, -0, -Infinity]);
    expect(third).toBeCloseTo(1 / 3, 3);
    for (const t of tensors.values()) expect(t.data.byteOffset).toBe(0);
    expect(tensors.get('f64')!.data[0]).toBeCloseTo(0.1, 7);
    expect(Array.from(tensors.get('u8')!.data)).toEqual([200, 7]);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['too short', Uint8Array.of(1, 2), /fewer than the 8-byte header length/],
    ['a header longer than the file', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 100n, true); return b; })(), /header length 100 is larger than the 8 bytes after it/],
    ['a header that is not JSON', handMade({}, '{not json'), /header is not valid JSON/],
    ['a header that is not an object', handMade({}, '[1, 2]'), /header is not a JSON object/],
    ['an unknown dtype', handMade({ x: { dtype: 'C64', shape: [1], bytes: [0, 0, 0, 0, 0, 0, 0, 0] } }), /tensor 'x' has dtype "C64"; expected one of F32/],
    ['a header that is not UTF-8', (() => { const b = handMade({}, '{"?": 1}'); b[10] = 0xff; return b; })(), /header is not valid JSON \(or not UTF-8\)/],
    ['a tensor entry that is not an object', handMade({}, '{"x": 3}'), /tensor 'x' is a number; expected an object with dtype, shape and data_offsets/],
    ['a missing dtype', handMade({}, '{"x": {"shape": [0], "data_offsets": [0, 0]}}'), /tensor 'x' has no dtype; expected/],
    ['a missing shape', handMade({}, '{"x": {"dtype": "F32", "data_offsets": [0, 0]}}'), /tensor 'x' has no shape; expected/],
    ['missing data_offsets', handMade({}, '{"x": {"dtype": "F32", "shape": [0]}}'), /tensor 'x' has no data_offsets; expected/],
    ['a bad shape', handMade({}, '{"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}'), /tensor 'x' has shape \[-1\]; expected a list of non-negative integers/],
    ['bad data_offsets', handMade({}, '{"x": {"dtype": "F32", "shape": [0], "data_offsets": [0]}}'), /tensor 'x' has data_offsets \[0\]; expected \[begin, end\]/],
    ['metadata that is not strings', handMade({}, '{"__metadata__": {"epoch": 3}}'), /__metadata__ 'epoch' is a number; expected a string/],
    ['offsets outside the data', handMade({}, '{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'), /tensor 'x' has data_offsets \[0, 4\] outside the 0 data bytes/],
    ['offsets that do not match the shape', handMade({ x: { dtype: 'F32', shape: [2], bytes: [0, 0, 0, 0] } }), /tensor 'x' F32\[2\] needs 8 bytes, its data_offsets span 4/],
    ['an int64 beyond int32', handMade({ n: { dtype: 'I64', shape: [1], bytes: i64([2n ** 40n]) } }), /tensor 'n' holds 1099511627776 at index 0, outside the int32 range/],
    ['a huge int64, reported exactly', handMade({ n: { dtype: 'I64', shape: [2], bytes: i64([0n, -(2n ** 62n) - 1n]) } }), /tensor 'n' holds -4611686018427387905 at index 1, outside the int32 range/],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects ${what}, naming the file`, () => {
      expect(() => decodeSafetensors(bytes, 'weights.safetensors')).toThrow(SafetensorsError);
      expect(() => decodeSafetensors(bytes, 'weights.safetensors')).toThrow(/weights\.safetensors/);
      expect(() => decodeSafetensors(bytes, 'weights.safetensors')).toThrow(message);
    });
  }

  it('refuses overlapping tensors, gaps and trailing bytes, as the reference reader does', () => {
    const floats = (n: number) => [...new Uint8Array(Float32Array.from({ length: n }, (_, i) => i + 1).buffer)];
    const entries = { a: { dtype: 'F32', shape: [2], bytes: floats(2) }, b: { dtype: 'F32', shape: [2], bytes: floats(2) } };
    const header = (a: [number, number], b: [number, number]) => JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: a }, b: { dtype: 'F32', shape: [2], data_offsets: b } });
    expect(() => decodeSafetensors(handMade(entries, header([0, 8], [4, 12])), 'w.safetensors')).toThrow(/w\.safetensors is not a valid safetensors file: tensors 'a' \[0, 8\] and 'b' \[4, 12\] overlap/);
    expect(() => decodeSafetensors(handMade(entries, header([0, 8], [0, 8])))).toThrow(/overlap/);
    const withGap = handMade({ ...entries, pad: { dtype: 'U8', shape: [0], bytes: [0, 0, 0, 0] } }, header([0, 8], [12, 20]));
    expect(() => decodeSafetensors(withGap)).toThrow(/bytes 8 to 12 of the data belong to no tensor \(before 'b'\)/);
    const trailing = handMade({ ...entries, extra: { dtype: 'U8', shape: [0], bytes: [1, 2, 3] } }, header([0, 8], [8, 16]));
    expect(() => decodeSafetensors(trailing)).toThrow(/3 bytes follow the last tensor's data \(which ends at 16 of 19\)/);
    expect(decodeSafetensors(handMade(entries)).tensors.size).toBe(2);
  });

  it('says when a file is missing, empty-named or a directory', () => {
    expect(() => readSafetensorsFile(path.join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors: no such file/);
    expect(() => readSafetensorsFile('')).toThrow(/empty path/);
    expect(() => writeSafetensorsFile('', {})).toThrow(/empty path/);
    expect(() => readSafetensorsFile(dir)).toThrow(/is a directory/);
    writeFileSync(path.join(dir, 'junk.safetensors'), 'junk');
    expect(() => readSafetensorsFile(path.join(dir, 'junk.safetensors'))).toThrow(/junk\.safetensors is not a valid safetensors file/);
  });

  it('writes files whole or not at all', () => {
    const file = path.join(dir, 'out.safetensors');
    writeSafetensorsFile(file, { x: f32([2], [1, 2]) });
    expect(Array.from(readSafetensorsFile(file).tensors.get('x')!.data)).toEqual([1, 2]);
    const broken = path.join(dir, 'broken.safetensors');
    expect(() => writeSafetensorsFile(broken, { x: f32([3], [1, 2]) })).toThrow(/cannot write .*broken\.safetensors: tensor 'x' has 2 values but shape \[3\] holds 3/);
    writeSafetensorsFile(file, { y: f32([1], [3]) });
    expect(() => writeSafetensorsFile(file, { y: f32([2], [3]) })).toThrow(SafetensorsError);
    expect(Array.from(readSafetensorsFile(file).tensors.get('y')!.data)).toEqual([3]);
    expect(existsSync(broken)).toBe(false);
    expect(() => writeSafetensorsFile(path.join(dir, 'missing-dir', 'x.safetensors'), { x: f32([1], [1]) })).toThrow(/its directory does not exist/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
