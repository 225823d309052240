/**
 * The inputs a static quantization calibrates on: `--calibrate FILE.safetensors` (tensors by the
 * model's input names, as `run --inputs` takes them) or, for a catalog vision model,
 * `--calibrate-images DIR` (every PNG and JPEG in DIR, preprocessed as `run --image` does). Both
 * come in batches of at most CALIBRATION_BATCH along the leading batch axis, so that the inner
 * values ONNX Runtime returns for calibration stay small.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { bindInputs, type Graph, type HostTensor, hostTensor } from '@tessera/graph-dsl';
import { imageInput, preprocess, presetFor } from '@tessera/models';
import { readSafetensorsFile } from '@tessera/safetensors';
import { UsageError } from './args.ts';
import { readImage } from './commands/image.ts';

export const CALIBRATION_BATCH = 8;

export type CalibrationSource = { readonly file: string } | { readonly images: string };

export interface CalibrationInputs {
  readonly batches: readonly Record<string, HostTensor>[];
  /** What they are, for the report: `16 images from DIR`, `FILE (4 batches)`. */
  readonly description: string;
}

/** Rows [start, end) of a tensor's leading axis. */
function rows(t: HostTensor, start: number, end: number): HostTensor {
  const size = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { ...t, shape: [end - start, ...t.shape.slice(1)], data: t.data.slice(start * size, end * size) } as HostTensor;
}

/** The rows of (n_i, ...) tensors one after another. */
export function concatRows(list: readonly HostTensor<'float32'>[]): HostTensor<'float32'> {
  const data = new Float32Array(list.reduce((n, t) => n + t.data.length, 0));
  list.reduce((offset, t) => (data.set(t.data, offset), offset + t.data.length), 0);
  return hostTensor('float32', [list.reduce((n, t) => n + t.shape[0]!, 0), ...list[0]!.shape.slice(1)], data);
}

/** Inputs split into batches along the leading axis when every input has the same symbolic one (the batch), else whole. */
function inBatches(graph: Graph, inputs: Record<string, HostTensor>): Record<string, HostTensor>[] {
  const leading = graph.inputs.map((i) => graph.types.get(i.value)!.shape[0]);
  if (leading.some((d) => d === undefined || typeof d === 'number') || new Set(leading.map(String)).size !== 1) return [inputs];
  const total = Object.values(inputs)[0]!.shape[0]!;
  const batches: Record<string, HostTensor>[] = [];
  for (let start = 0; start < total; start += CALIBRATION_BATCH) {
    const end = Math.min(total, start + CALIBRATION_BATCH);
    batches.push(Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, rows(t, start, end)])));
  }
  return batches;
}

/** The calibration inputs of `source` for `graph` (the catalog model `model`, whose preprocessing images take). */
export function calibrationInputs(source: CalibrationSource, graph: Graph, model: string, isCatalogModel: boolean): CalibrationInputs {
  if ('file' in source) {
    const inputs = Object.fromEntries(readSafetensorsFile(source.file).tensors);
    bindInputs(graph, inputs, source.file);
    const batches = inBatches(graph, inputs);
    if (!batches.length) throw new UsageError(`--calibrate ${source.file}: its inputs hold a batch of 0, nothing to calibrate on`);
    return { batches, description: `${source.file}${batches.length > 1 ? ` (${batches.length} batches)` : ''}` };
  }
  const input = imageInput(graph);
  if (!isCatalogModel || !input) throw new UsageError(`--calibrate-images: ${model} is not a catalog vision model (one image input, torchvision's preprocessing); give its calibration inputs with --calibrate FILE.safetensors`);
  let names: string[];
  try {
    names = readdirSync(source.images).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  } catch (e) {
    throw new UsageError(`--calibrate-images ${source.images}: cannot read the folder (${(e as Error).message})`);
  }
  if (!names.length) throw new UsageError(`--calibrate-images ${source.images}: no .png, .jpg or .jpeg file in it`);
  const preset = presetFor(model, input.height, input.width);
  const pixels = names.map((f) => preprocess(readImage(path.join(source.images, f)), preset, [input.height, input.width]));
  const batches: Record<string, HostTensor>[] = [];
  for (let i = 0; i < pixels.length; i += CALIBRATION_BATCH) batches.push({ [input.name]: concatRows(pixels.slice(i, i + CALIBRATION_BATCH)) });
  return { batches, description: `${names.length} image${names.length > 1 ? 's' : ''} from ${source.images}` };
}
