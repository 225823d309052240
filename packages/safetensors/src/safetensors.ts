/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { DType, HostTensor } from '@tessera/graph-dsl';

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export interface Decoded {
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

type Reader = (view: DataView, offset: number) => number;

/** Each stored dtype: its size, how to read one element, and the Tessera dtype it becomes. */
const STORED: Readonly<Record<string, { size: number; read: Reader; as: DType }>> = {
  F32: { size: 4, read: (v, o) => v.getFloat32(o, true), as: 'float32' },
  F64: { size: 8, read: (v, o) => v.getFloat64(o, true), as: 'float32' },
  F16: { size: 2, read: (v, o) => halfToFloat(v.getUint16(o, true)), as: 'float32' },
  BF16: { size: 2, read: (v, o) => new Float32Array(new Uint32Array([v.getUint16(o, true) << 16]).buffer)[0]!, as: 'float32' },
  I64: { size: 8, read: (v, o) => Number(v.getBigInt64(o, true)), as: 'int32' },
  I32: { size: 4, read: (v, o) => v.getInt32(o, true), as: 'int32' },
  I16: { size: 2, read: (v, o) => v.getInt16(o, true), as: 'int32' },
  I8: { size: 1, read: (v, o) => v.getInt8(o), as: 'int32' },
  U8: { size: 1, read: (v, o) => v.getUint8(o), as: 'int32' },
  BOOL: { size: 1, read: (v, o) => (v.getUint8(o) ? 1 : 0), as: 'bool' },
};

/** What each Tessera dtype is written as. */
const WRITTEN: Readonly<Record<DType, { name: string; size: number }>> = {
  float32: { name: 'F32', size: 4 },
  int32: { name: 'I32', size: 4 },
  bool: { name: 'BOOL', size: 1 },
};

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): Decoded {
  const fail = (what: string): never => {
    throw new SafetensorsError(`${source} is not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) fail(`the header length ${headerLength} is larger than the ${bytes.length - 8} bytes after it`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    fail('the header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, HostTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = Object.fromEntries(Object.entries((entry ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`tensor '${name}' has no entry object`);
    const stored = typeof e.dtype === 'string' ? STORED[e.dtype] : undefined;
    if (!stored) fail(`tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; expected one of ${Object.keys(STORED).join(', ')}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has no valid shape (a list of sizes)`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(Number.isInteger)) fail(`tensor '${name}' has no valid data_offsets [begin, end]`);
    const shape = e.shape as number[];
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (begin < 0 || end < begin || end > dataLength) fail(`tensor '${name}' has data_offsets [${begin}, ${end}] outside the ${dataLength} data bytes`);
    if (end - begin !== count * stored!.size) fail(`tensor '${name}' ${e.dtype}[${shape.join(', ')}] needs ${count * stored!.size} bytes, its data_offsets span ${end - begin}`);
    tensors.set(name, readTensor(name, stored!, shape, view, dataStart + begin, count, source));
  }
  return { tensors, metadata };
}

function readTensor(name: string, stored: (typeof STORED)[string], shape: number[], view: DataView, start: number, count: number, source: string): HostTensor {
  const data = stored.as === 'float32' ? new Float32Array(count) : stored.as === 'int32' ? new Int32Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const value = stored.read(view, start + i * stored.size);
    if (stored.as === 'int32' && (value > 2147483647 || value < -2147483648)) {
      throw new SafetensorsError(`${source}: tensor '${name}' holds ${value} at index ${i}, outside the int32 range Tessera reads integers into`);
    }
    data[i] = value;
  }
  return { dtype: stored.as, shape, data } as HostTensor;
}

export function encodeSafetensors(tensors: ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const entries: [string, HostTensor][] = [...(tensors instanceof Map ? tensors : Object.entries(tensors as Record<string, HostTensor>))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = Object.fromEntries(Object.entries(metadata).sort());
  let offset = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) throw new SafetensorsError(`tensor '${name}' has ${t.data.length} values but shape [${t.shape.join(', ')}] holds ${count}`);
    const { name: dtype, size } = WRITTEN[t.dtype];
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + count * size] };
    offset += count * size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    // Typed arrays are little-endian on every platform Node runs on.
    const raw = t.dtype === 'bool' ? Uint8Array.from(t.data, (v) => (v ? 1 : 0)) : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(raw, at);
    at += raw.length;
  }
  return out;
}

export function readSafetensorsFile(file: string): Decoded {
  if (!file) throw new SafetensorsError('no safetensors file was named (empty path)');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SafetensorsError(code === 'ENOENT' ? `${file}: no such file` : code === 'EISDIR' ? `${file} is a directory, not a safetensors file` : `${file} cannot be read (${code ?? String(e)})`);
  }
  return decodeSafetensors(bytes, file);
}

/** Writes beside the target and renames into place, so a failure never leaves a half-written file. */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (e) {
    rmSync(temp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new SafetensorsError(code === 'ENOENT' ? `cannot write ${file}: its directory does not exist` : `cannot write ${file} (${code ?? String(e)})`);
  }
}

export function writeSafetensorsFile(file: string, tensors: ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>, metadata?: Readonly<Record<string, string>>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}
