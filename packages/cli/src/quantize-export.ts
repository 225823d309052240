/**
 * `tessera export --quantize dynamic`: the compiler's quantization pass over the exported model,
 * then, before the file is written, the quantized and the fp32 model run on ONNX Runtime on seeded
 * random inputs, and each output's error (and top-1 agreement for a classifier's logits) is reported.
 */
import { exportOnnxModel, modulePath, type OnnxExportOptions, quantizeDynamic } from '@tessera/compiler';
import { type OnnxFileOptions, type OnnxFiles, runOnnxModel, writeOnnxModelFiles } from '@tessera/compiler/node';
import { type Graph, randomInputs, symbolSizes } from '@tessera/graph-dsl';
import { compareOutputs, formatAccuracy, movedNote, type OutputAccuracy } from './accuracy.ts';
import { type Args, option, UsageError } from './args.ts';

export interface QuantizeRequest {
  readonly exclude: readonly string[];
}

/** `--quantize dynamic [--quantize-exclude a.b,c]`, or undefined without --quantize. */
export function quantizeRequest(args: Args): QuantizeRequest | undefined {
  const mode = option(args, 'quantize');
  const exclude = option(args, 'quantize-exclude');
  if (mode === undefined) {
    if (exclude !== undefined) throw new UsageError('--quantize-exclude chooses modules that --quantize dynamic leaves float; give --quantize dynamic too');
    return undefined;
  }
  if (mode === 'static') throw new UsageError('--quantize static (with calibration) is not implemented yet; --quantize dynamic is');
  if (mode !== 'dynamic') throw new UsageError(`--quantize ${mode}: expected dynamic`);
  const paths = (exclude ?? '').split(',').map((p) => p.trim());
  if (exclude !== undefined && paths.some((p) => p === '')) throw new UsageError(`--quantize-exclude ${JSON.stringify(exclude)}: expected module paths separated by commas (heads.head,encoder.layers.encoder_layer_11)`);
  return { exclude: exclude === undefined ? [] : paths };
}

/** What the report says when an output moved by more than the 2 % a quantized model should keep, or a top-1 answer changed. */
export function accuracyNote(accuracies: readonly OutputAccuracy[], lastModule: string | undefined): string | undefined {
  const hint = lastModule ? ` (the last Linear, often the most sensitive: --quantize-exclude ${lastModule})` : '';
  return movedNote(accuracies, `--quantize-exclude keeps modules float${hint}`);
}

/** The batch the accuracy report runs (seeded random inputs, seed 0; other symbolic dims 5, as `run --random-inputs`). */
export const REPORT_BATCH = 8;

/** Exports, quantizes, measures against the fp32 model, then writes the quantized model; returns the files and the report. */
export async function exportQuantized(graph: Graph, options: OnnxExportOptions & OnnxFileOptions, request: QuantizeRequest): Promise<{ files: OnnxFiles; report: string }> {
  // the in-projections stay matmuls the pass quantizes (not inside com.microsoft Attention)
  const fp32 = exportOnnxModel(graph, { ...options, fuseInProjection: false });
  const { model, decisions, unmatched } = quantizeDynamic(fp32, { target: options.target, exclude: request.exclude });
  if (unmatched.length) {
    const modules = [...new Set(decisions.flatMap((d) => (d.weight ? [modulePath(d.weight)] : [])))];
    const shown = modules.length > 6 ? [...modules.slice(0, 6), `... (${modules.length} in all)`] : modules;
    throw new UsageError(`--quantize-exclude ${unmatched.join(',')}: no Linear with a constant weight under ${unmatched.length > 1 ? 'these module paths' : 'this module path'}; the model's are ${shown.join(', ') || 'none'}`);
  }
  if (!decisions.some((d) => d.weight)) throw new UsageError('--quantize dynamic: the model has no matmul with a constant weight (no Linear) to quantize');
  const inputs = randomInputs(graph, symbolSizes(graph, { batch: REPORT_BATCH, other: 5 }), 0);
  const [reference, got] = [await runOnnxModel(fp32, inputs), await runOnnxModel(model, inputs)];
  const files = await writeOnnxModelFiles(model, options);
  const quantized = decisions.filter((d) => d.quantized).length;
  const excluded = decisions.filter((d) => d.reason.startsWith('excluded'));
  const computed = decisions.filter((d) => !d.weight).length;
  const other = decisions.length - quantized - excluded.length - computed;
  const kept = [
    computed ? `${computed} products of two activations (attention)` : '',
    excluded.length ? `${excluded.length} excluded (${request.exclude.join(', ')})` : '',
    other ? `${other} for other reasons (${[...new Set(decisions.filter((d) => d.weight && !d.quantized && !excluded.includes(d)).map((d) => d.reason))].join('; ')})` : '',
  ].filter(Boolean);
  const accuracies = compareOutputs(reference, got);
  const last = decisions.findLast((d) => d.weight)?.weight;
  const note = accuracyNote(accuracies, last && modulePath(last));
  return {
    files,
    report: [
      `quantized dynamic: ${quantized} of ${decisions.length} matmuls to int8 (weights per output column, activations per tensor at run time)${kept.length ? `; float: ${kept.join(', ')}` : ''}`,
      `against the fp32 export on ONNX Runtime, seeded random inputs (batch ${REPORT_BATCH}, seed 0):`,
      ...accuracies.map((a) => `  ${formatAccuracy(a)}`),
      ...(note ? [note] : []),
    ].join('\n'),
  };
}
