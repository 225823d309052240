/**
 * Held-out accuracy of a classifier over the shapes dataset: one loop over batches of images, the
 * backend a function from images to logits (tfjs, or an ONNX model on ONNX Runtime), so that fp32
 * and int8 are scored alike.
 */
import { openOnnxModel } from '@tessera/compiler/node';
import type { ModelProto } from '@tessera/compiler';
import type { Graph, HostTensor } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { type Figures, type QuantizedPair, quantizedPair, weightsOf } from '../int8-held-out.ts';
import { argmax } from '../seq2seq/translator.ts';
import type { ShapesBatch } from './shapes.ts';

/** Logits (N, classes) of images (N, 3, H, W). */
export type Classify = (image: HostTensor<'float32'>) => Promise<HostTensor>;

/** The arg max class of each image of `images` (N, 3, H, W), `batch` images at a time. */
export async function predictions(classify: Classify, images: HostTensor<'float32'>, batch = 100): Promise<Int32Array> {
  const [n, ...image] = images.shape as number[];
  const plane = image.reduce((a, b) => a * b, 1);
  const out = new Int32Array(n!);
  for (let from = 0; from < n!; from += batch) {
    const rows = Math.min(batch, n! - from);
    const logits = await classify({ dtype: 'float32', shape: [rows, ...image], data: images.data.subarray(from * plane, (from + rows) * plane) });
    const classes = logits.shape[1]!;
    for (let r = 0; r < rows; r++) out[from + r] = argmax(logits.data, r * classes, classes);
  }
  return out;
}

/** How many places two arrays hold the same value. */
const same = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).filter((v, i) => v === b[i]).length;

/** The predictions of a model on ONNX Runtime (its one input, its first output), one session for every batch. */
async function ortPredictions(model: ModelProto, input: string, output: string, images: HostTensor<'float32'>): Promise<Int32Array> {
  const session = await openOnnxModel(model);
  try {
    return await predictions(async (image) => (await session.run({ [input]: image }))[output]!, images);
  } finally {
    await session.release();
  }
}

export interface BeforeAfterInt8 {
  /** Held-out accuracy in %. */
  readonly percent: Figures;
  /** Images whose answer on ONNX Runtime is tfjs's (fp32), and the fp32 export's (int8). */
  readonly agree: { readonly onnx: number; readonly int8: number };
  readonly models: QuantizedPair;
}

/**
 * Held-out accuracy of an eval graph with `weights` on tfjs, on ONNX Runtime from its fp32 export,
 * and on ONNX Runtime from the int8 model of that export; how many answers each keeps; the models.
 */
export async function accuracyBeforeAfterInt8(graph: Graph, weights: ReadonlyMap<string, HostTensor>, held: ShapesBatch): Promise<BeforeAfterInt8> {
  const [input, output] = [graph.inputs[0]!.name, graph.outputs[0]!.name];
  const session = await Session.create(graph, { weights: weightsOf(graph, weights) });
  const models = quantizedPair(graph, weights);
  try {
    const [tfjs, onnx, int8] = [
      await predictions(async (image) => (await session.run({ [input]: image }))[output]!, held.images),
      await ortPredictions(models.fp32, input, output, held.images),
      await ortPredictions(models.int8, input, output, held.images),
    ];
    const percent = (p: Int32Array) => (100 * same(p, held.labels)) / p.length;
    return { percent: { tfjs: percent(tfjs), onnx: percent(onnx), int8: percent(int8) }, agree: { onnx: same(onnx, tfjs), int8: same(int8, onnx) }, models };
  } finally {
    session.dispose();
  }
}
