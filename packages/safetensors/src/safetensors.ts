/** safetensors files: the codec (./codec.ts) and reading and writing files with Node.js. */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '@tessera/graph-dsl/node';
import { type Decoded, decodeSafetensors, encodeSafetensors, type Narrow, SafetensorsError, type Tensors } from './codec.ts';

export * from './codec.ts';

export function readSafetensorsFile(file: string): Decoded {
  checkPath(file);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SafetensorsError(code === 'ENOENT' ? `${file}: no such file` : code === 'EISDIR' ? `${file} is a directory, not a safetensors file` : `${file} cannot be read (${code ?? String(e)})`);
  }
  return decodeSafetensors(bytes, file);
}

function checkPath(file: string): void {
  if (!file) throw new SafetensorsError('no safetensors file was named (empty path); expected the path of a .safetensors file');
}

/** Encodes first (an error names `file` and the tensor), then writes atomically: a failure leaves no file at `file`. `narrow` as encodeSafetensors'. */
export function writeSafetensorsFile(file: string, tensors: Tensors, metadata?: Readonly<Record<string, string>>, narrow?: ReadonlyMap<string, Narrow>): void {
  checkPath(file);
  writeFileAtomic(file, encodeSafetensors(tensors, metadata, `cannot write ${file}`, narrow));
}
