/**
 * Writing models to disk: `model.onnx`, and for large models `model.onnx.data` with the
 * initializers' bytes (TensorProto data_location = EXTERNAL). Every file is written to a temp
 * file in its directory and renamed, so a failure never leaves a half-written model.
 */
import { open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Graph } from '@tessera/graph-dsl';
import { checkWritableTarget, fileErrorFor, releaseTemp, tempPathFor, writeFileAtomic } from '@tessera/graph-dsl/node';
import { encodeModel, EXTERNAL_DATA_THRESHOLD, exportOnnxModel, initializerBytes, type OnnxExportOptions } from './export.ts';
import { type ModelProto, onnx, type TensorProto } from './proto.ts';

export interface OnnxFileOptions extends OnnxExportOptions {
  /** Where the model goes (`.../model.onnx`); external data goes beside it as `<file name>.data`. */
  readonly path: string;
  /** Store initializers in the external data file; by default only when they pass ~1.8 GiB. */
  readonly externalData?: boolean;
  /** With external data, initializers smaller than this many bytes stay inside the model (default 1024, as onnx's). */
  readonly externalThreshold?: number;
}

export interface OnnxFiles {
  readonly modelPath: string;
  /** The external data file, when one was written. */
  readonly dataPath?: string;
  /** Initializer bytes written to the data file. */
  readonly externalBytes: number;
}

/** Tensors of at least 1 MiB start on a 64 KiB boundary (mmap-able on every platform), the rest on 16 bytes. */
const LARGE_TENSOR = 1 << 20;
const LARGE_ALIGNMENT = 1 << 16;
const SMALL_ALIGNMENT = 16;

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

interface Placement {
  readonly tensor: TensorProto;
  readonly data: Uint8Array;
  readonly offset: number;
}

/** Moves the initializers' bytes out of the model: each big enough tensor gets location/offset/length entries. */
function placeExternal(model: ModelProto, location: string, threshold: number): { model: ModelProto; placements: Placement[]; size: number } {
  const placements: Placement[] = [];
  let size = 0;
  const initializer = (model.graph!.initializer ?? []).map((t): TensorProto => {
    const data = t.rawData;
    if (!data || data.byteLength < threshold) return t;
    const offset = alignUp(size, data.byteLength >= LARGE_TENSOR ? LARGE_ALIGNMENT : SMALL_ALIGNMENT);
    size = offset + data.byteLength;
    const { rawData: _, ...rest } = t;
    const external: TensorProto = {
      ...rest,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(data.byteLength) },
      ],
    };
    placements.push({ tensor: external, data, offset });
    return external;
  });
  return { model: { ...model, graph: { ...model.graph, initializer } }, placements, size };
}

async function writeExternalData(target: string, placements: readonly Placement[], size: number): Promise<string> {
  const temp = tempPathFor(target);
  const file = await open(temp, 'w').catch((e: unknown) => {
    throw fileErrorFor(target, e);
  });
  try {
    for (const p of placements) {
      // large tensors are written in pieces: one write call takes at most 2 GiB
      for (let done = 0; done < p.data.byteLength; ) {
        const { bytesWritten } = await file.write(p.data, done, Math.min(p.data.byteLength - done, 1 << 30), p.offset + done);
        done += bytesWritten;
      }
    }
    await file.truncate(size);
    await file.sync();
  } catch (e) {
    await file.close();
    await rm(temp, { force: true });
    releaseTemp(temp);
    throw fileErrorFor(target, e);
  }
  await file.close();
  return temp;
}

/**
 * Writes the model to `options.path`, and with external data (forced, or when the weights pass
 * ~1.8 GiB) the initializers to `<path>.data` beside it. Both files are written to temp files
 * first and renamed at the end.
 */
export async function exportOnnxFiles(graph: Graph, options: OnnxFileOptions): Promise<OnnxFiles> {
  return writeOnnxModelFiles(exportOnnxModel(graph, options), options);
}

/** `exportOnnxFiles` for a model at hand (one a pass changed after export, as quantizeDynamic). */
export async function writeOnnxModelFiles(inline: ModelProto, options: Pick<OnnxFileOptions, 'path' | 'externalData' | 'externalThreshold'>): Promise<OnnxFiles> {
  const modelPath = path.resolve(options.path);
  const external = options.externalData ?? initializerBytes(inline) > EXTERNAL_DATA_THRESHOLD;
  if (!external) {
    if (initializerBytes(inline) > EXTERNAL_DATA_THRESHOLD) {
      throw new Error(`ONNX export: the initializers pass ${(EXTERNAL_DATA_THRESHOLD / 2 ** 30).toFixed(1)} GiB; write them as external data (externalData: true)`);
    }
    writeFileAtomic(modelPath, encodeModel(inline));
    return { modelPath, externalBytes: 0 };
  }
  const location = `${path.basename(modelPath)}.data`;
  const dataPath = path.join(path.dirname(modelPath), location);
  checkWritableTarget(modelPath);
  checkWritableTarget(dataPath);
  const { model, placements, size } = placeExternal(inline, location, options.externalThreshold ?? 1024);
  const bytes = encodeModel(model);
  // both files are complete under temp names before either takes its real name
  const dataTemp = await writeExternalData(dataPath, placements, size);
  const modelTemp = tempPathFor(modelPath);
  try {
    await writeFile(modelTemp, bytes);
    await rename(dataTemp, dataPath);
    await rename(modelTemp, modelPath);
  } catch (e) {
    await rm(dataTemp, { force: true });
    await rm(modelTemp, { force: true });
    throw fileErrorFor(modelPath, e);
  } finally {
    releaseTemp(dataTemp);
    releaseTemp(modelTemp);
  }
  return { modelPath, dataPath, externalBytes: placements.reduce((s, p) => s + p.data.byteLength, 0) };
}
