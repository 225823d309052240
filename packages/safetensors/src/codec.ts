/**
 * The safetensors format, in memory: an 8-byte little-endian header length N, N bytes of JSON
 * naming each tensor's dtype, shape and byte range, then the raw little-endian data. No Node.js
 * built-ins here: the playground bundles this module (`@tessera/safetensors/codec`) for the browser.
 */
import type { DType, HostTensor } from '@tessera/graph-dsl';
import { SafetensorsError } from './error.ts';
import { floatToHalf, halfToFloat } from './half.ts';

export { SafetensorsError } from './error.ts';
// smaller weights (F16, I8 with scales) and their reader, for the browser too
export * from './weights-dtype.ts';

export interface Decoded {
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
  /** Each tensor's dtype as the file stores it (I64, F16, ...), which the reader widens or narrows to a Tessera dtype. */
  readonly stored: ReadonlyMap<string, string>;
}

type Reader = (view: DataView, offset: number) => number;

/** Thrown by the I64 reader; `readTensor` turns it into an error naming the tensor and the exact value. */
class OutsideInt32 {
  constructor(readonly value: bigint) {}
}

const bf16Scratch = new DataView(new ArrayBuffer(4));

/** Each stored dtype: its size, how to read one element, and the Tessera dtype it becomes. */
const STORED: Readonly<Record<string, { size: number; read: Reader; as: DType }>> = {
  F32: { size: 4, read: (v, o) => v.getFloat32(o, true), as: 'float32' },
  F64: { size: 8, read: (v, o) => v.getFloat64(o, true), as: 'float32' },
  F16: { size: 2, read: (v, o) => halfToFloat(v.getUint16(o, true)), as: 'float32' },
  BF16: { size: 2, read: (v, o) => (bf16Scratch.setUint32(0, v.getUint16(o, true) << 16), bf16Scratch.getFloat32(0)), as: 'float32' },
  I64: { size: 8, read: (v, o) => readI64(v.getBigInt64(o, true)), as: 'int32' },
  I32: { size: 4, read: (v, o) => v.getInt32(o, true), as: 'int32' },
  I16: { size: 2, read: (v, o) => v.getInt16(o, true), as: 'int32' },
  I8: { size: 1, read: (v, o) => v.getInt8(o), as: 'int32' },
  U8: { size: 1, read: (v, o) => v.getUint8(o), as: 'int32' },
  BOOL: { size: 1, read: (v, o) => (v.getUint8(o) ? 1 : 0), as: 'bool' },
};

interface Writer {
  readonly name: string;
  readonly size: number;
  /** The little-endian elements (typed arrays are little-endian on every platform Node runs on); `from` also copies plain arrays. */
  readonly typed: (data: ArrayLike<number>) => ArrayBufferView;
}

/** What each Tessera dtype is written as. */
const WRITTEN: Readonly<Record<DType, Writer>> = {
  float32: { name: 'F32', size: 4, typed: (d) => Float32Array.from(d) },
  int32: { name: 'I32', size: 4, typed: (d) => Int32Array.from(d) },
  bool: { name: 'BOOL', size: 1, typed: (d) => Uint8Array.from(d, (v) => (v ? 1 : 0)) },
};

/** The narrower stored dtypes a tensor can be written as on request (smaller weights), each from one Tessera dtype. */
export type Narrow = 'F16' | 'I8';
const NARROWED: Readonly<Record<Narrow, Writer & { from: DType; min: number; max: number }>> = {
  // past 65504 a value rounds to infinity, as torch's .half() does
  F16: { name: 'F16', size: 2, from: 'float32', typed: (d) => Uint16Array.from(d, floatToHalf), min: -Infinity, max: Infinity },
  I8: { name: 'I8', size: 1, from: 'int32', typed: (d) => Int8Array.from(d), min: -128, max: 127 },
};

function readI64(value: bigint): number {
  if (value < -2147483648n || value > 2147483647n) throw new OutsideInt32(value);
  return Number(value);
}

const EXPECTED_HEADER = 'expected a JSON object mapping each tensor name to {"dtype", "shape", "data_offsets"}';

export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): Decoded {
  const fail = (what: string): never => {
    throw new SafetensorsError(`${source} is not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length every safetensors file starts with`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) fail(`the header length ${declared} is larger than the ${bytes.length - 8} bytes after it; expected at most ${bytes.length - 8}`);
  const headerLength = Number(declared);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    fail(`the header is not valid JSON (or not UTF-8); ${EXPECTED_HEADER}`);
  }
  if (!isObject(header)) fail(`the header is not a JSON object but ${kindOf(header)}; ${EXPECTED_HEADER}`);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, HostTensor>();
  const storedAs = new Map<string, string>();
  const spans: { name: string; begin: number; end: number }[] = [];
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isObject(entry)) fail(`__metadata__ is ${kindOf(entry)}; expected an object of strings`);
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`__metadata__ '${key}' is ${kindOf(value)}; expected a string`);
        Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    if (!isObject(entry)) fail(`tensor '${name}' is ${kindOf(entry)}; expected an object with dtype, shape and data_offsets`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    for (const field of ['dtype', 'shape', 'data_offsets'] as const) {
      if (e[field] === undefined) fail(`tensor '${name}' has no ${field}; expected an object with dtype, shape and data_offsets`);
    }
    const stored = typeof e.dtype === 'string' && Object.hasOwn(STORED, e.dtype) ? STORED[e.dtype] : undefined;
    if (!stored) fail(`tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; expected one of ${Object.keys(STORED).join(', ')}`);
    if (!Array.isArray(e.shape) || !e.shape.every(isSize)) fail(`tensor '${name}' has shape ${JSON.stringify(e.shape)}; expected a list of non-negative integers`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end], two non-negative integers`);
    const shape = e.shape as number[];
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLength) fail(`tensor '${name}' has data_offsets [${begin}, ${end}] outside the ${dataLength} data bytes; expected begin <= end <= ${dataLength}`);
    if (end - begin !== count * stored!.size) fail(`tensor '${name}' ${e.dtype}[${shape.join(', ')}] needs ${count * stored!.size} bytes, its data_offsets span ${end - begin}`);
    spans.push({ name, begin, end });
    tensors.set(name, readTensor(name, stored!, shape, view, dataStart + begin, count, source));
    storedAs.set(name, e.dtype as string);
  }
  // as the reference reader: the tensors tile the data exactly, in offset order (no overlap, no gap, nothing after)
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: (typeof spans)[number] | undefined;
  for (const span of spans) {
    if (span.begin < at) fail(`tensors '${previous!.name}' [${previous!.begin}, ${previous!.end}] and '${span.name}' [${span.begin}, ${span.end}] overlap; each tensor's bytes must be its own`);
    if (span.begin > at) fail(`bytes ${at} to ${span.begin} of the data belong to no tensor (before '${span.name}'); the tensors must cover the data without gaps`);
    at = span.end;
    previous = span;
  }
  if (at !== dataLength) fail(`${dataLength - at} bytes follow the last tensor's data (which ends at ${at} of ${dataLength}); the file has trailing bytes`);
  return { tensors, metadata, stored: storedAs };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSize(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function readTensor(name: string, stored: (typeof STORED)[string], shape: number[], view: DataView, start: number, count: number, source: string): HostTensor {
  const data = stored.as === 'float32' ? new Float32Array(count) : stored.as === 'int32' ? new Int32Array(count) : new Uint8Array(count);
  let i = 0;
  try {
    for (; i < count; i++) data[i] = stored.read(view, start + i * stored.size);
  } catch (e) {
    if (!(e instanceof OutsideInt32)) throw e;
    throw new SafetensorsError(`${source}: tensor '${name}' holds ${e.value} at index ${i}, outside the int32 range Tessera reads integers into; expected values from -2147483648 to 2147483647`);
  }
  return { dtype: stored.as, shape, data } as HostTensor;
}

export type Tensors = ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>;

/**
 * The safetensors bytes of tensors; an error starts with `context` and names the tensor. `narrow`
 * writes the tensors it names as F16 (from float32, rounded to nearest even) or I8 (from int32).
 */
export function encodeSafetensors(tensors: Tensors, metadata?: Readonly<Record<string, string>>, context = 'cannot encode safetensors', narrow?: ReadonlyMap<string, Narrow>): Uint8Array {
  const fail = (what: string): never => {
    throw new SafetensorsError(`${context}: ${what}`);
  };
  const entries = [...(tensors instanceof Map ? tensors : Object.entries(tensors as Record<string, HostTensor>))].map(([name, t]: [string, HostTensor]) => {
    if (name === '__metadata__') fail(`'__metadata__' is reserved for metadata; expected another tensor name`);
    const written = Object.hasOwn(WRITTEN, t?.dtype) ? WRITTEN[t.dtype] : undefined;
    if (!written) fail(`tensor '${name}' has dtype ${JSON.stringify(t?.dtype)}; expected one of ${Object.keys(WRITTEN).join(', ')}`);
    if (!Array.isArray(t.shape) || !t.shape.every(isSize)) fail(`tensor '${name}' has shape ${JSON.stringify(t.shape)}; expected a list of non-negative integers`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data?.length !== count) fail(`tensor '${name}' has ${t.data?.length ?? 'no'} values but shape [${t.shape.join(', ')}] holds ${count}`);
    const to = narrow?.get(name);
    const narrowed = to === undefined ? undefined : NARROWED[to];
    if (narrowed) {
      if (narrowed.from !== t.dtype) fail(`tensor '${name}' is ${t.dtype}; only ${narrowed.from} tensors are written as ${to}`);
      const i = Array.prototype.findIndex.call(t.data, (v: number) => v < narrowed.min || v > narrowed.max);
      if (i >= 0) fail(`tensor '${name}' holds ${t.data[i]} at index ${i}, outside ${to}'s range ${narrowed.min} to ${narrowed.max}`);
    }
    const writer = narrowed ?? written!;
    return { name, t, written: writer, bytes: count * writer.size };
  });
  // Wider elements first, then by name: the same tensors give the same bytes, and every tensor's data is aligned to its element size.
  entries.sort((a, b) => b.written.size - a.written.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length) {
    const sorted: Record<string, string> = Object.create(null);
    for (const key of Object.keys(metadata).sort()) {
      if (typeof metadata[key] !== 'string') fail(`metadata '${key}' is ${kindOf(metadata[key])}; expected a string`);
      sorted[key] = metadata[key]!;
    }
    header.__metadata__ = sorted;
  }
  let offset = 0;
  for (const { name, t, written, bytes } of entries) {
    header[name] = { dtype: written.name, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { t, written, bytes } of entries) {
    out.set(new Uint8Array(written.typed(t.data).buffer, 0, bytes), at);
    at += bytes;
  }
  return out;
}

