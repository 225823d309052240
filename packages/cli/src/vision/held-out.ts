/**
 * Held-out accuracy of a classifier over the shapes dataset: one loop over batches of images, the
 * backend a function from images to logits (tfjs, or an ONNX model on ONNX Runtime), so that fp32
 * and int8 are scored alike.
 */
import { runOnnxModel } from '@tessera/compiler/node';
import type { ModelProto } from '@tessera/compiler';
import type { Graph, HostTensor } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { type Figures, type QuantizedPair, quantizedPair, weightsOf } from '../int8-held-out.ts';
import { argmax } from '../seq2seq/translator.ts';
import type { ShapesBatch } from './shapes.ts';

/** Logits (N, classes) of images (N, 3, H, W). */
export type Classify = (image: HostTensor<'float32'>) => Promise<HostTensor>;

/** The fraction of `held` whose arg max logit is its label, `batch` images at a time. */
export async function heldOutAccuracy(classify: Classify, held: ShapesBatch, batch = 100): Promise<number> {
  const [n, ...image] = held.images.shape as number[];
  const plane = image.reduce((a, b) => a * b, 1);
  let right = 0;
  for (let from = 0; from < n!; from += batch) {
    const rows = Math.min(batch, n! - from);
    const logits = await classify({ dtype: 'float32', shape: [rows, ...image], data: held.images.data.subarray(from * plane, (from + rows) * plane) });
    const classes = logits.shape[1]!;
    for (let r = 0; r < rows; r++) right += argmax(logits.data, r * classes, classes) === held.labels[from + r] ? 1 : 0;
  }
  return right / n!;
}

/** A model on ONNX Runtime as a `Classify` of its one input and first output. */
const onOrt = (model: ModelProto, input: string, output: string): Classify => async (image) => (await runOnnxModel(model, { [input]: image }))[output]!;

/**
 * Held-out accuracy (in %) of an eval graph with `weights` on tfjs, on ONNX Runtime from its fp32
 * export, and on ONNX Runtime from the int8 model of that export; with the pair of models.
 */
export async function accuracyBeforeAfterInt8(graph: Graph, weights: ReadonlyMap<string, HostTensor>, held: ShapesBatch): Promise<{ readonly percent: Figures; readonly models: QuantizedPair }> {
  const [input, output] = [graph.inputs[0]!.name, graph.outputs[0]!.name];
  const session = await Session.create(graph, { weights: weightsOf(graph, weights) });
  const models = quantizedPair(graph, weights);
  try {
    const [tfjs, onnx, int8] = [
      await heldOutAccuracy(async (image) => (await session.run({ [input]: image }))[output]!, held),
      await heldOutAccuracy(onOrt(models.fp32, input, output), held),
      await heldOutAccuracy(onOrt(models.int8, input, output), held),
    ];
    return { percent: { tfjs: 100 * tfjs, onnx: 100 * onnx, int8: 100 * int8 }, models };
  } finally {
    session.dispose();
  }
}
