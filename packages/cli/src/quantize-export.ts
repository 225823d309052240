/**
 * `tessera export --quantize dynamic|static`: the compiler's quantization pass over the exported
 * model (static: with activation ranges calibrated on the user's inputs), then, before the file is
 * written, the quantized and the fp32 model run on ONNX Runtime (dynamic: on seeded random inputs;
 * static: on the calibration inputs), and each output's error (and top-1 agreement for a
 * classifier's logits) is reported.
 */
import { exportOnnxModel, type ModelProto, modulePath, type OnnxExportOptions, type QuantizeDecision, quantizeDynamic, quantizeStatic } from '@tessera/compiler';
import { calibrate, type CalibrationMethod, type OnnxFileOptions, type OnnxFiles, openOnnxModel, writeOnnxModelFiles } from '@tessera/compiler/node';
import { type Graph, type HostTensor, randomInputs, symbolSizes } from '@tessera/graph-dsl';
import { type CalibrationInputs, type CalibrationSource, concatRows } from './calibration.ts';
import { compareOutputs, formatAccuracy, movedNote, type OutputAccuracy } from './accuracy.ts';
import { type Args, option, UsageError } from './args.ts';

export type QuantizeRequest =
  | { readonly mode: 'dynamic'; readonly exclude: readonly string[] }
  | { readonly mode: 'static'; readonly exclude: readonly string[]; readonly source: CalibrationSource; readonly method: CalibrationMethod };

/**
 * The percentile `--calibration percentile` clips each tail at. Measured on vit_b_16 and swin_t
 * (seeded random weights, 16 calibration images, 8 others, onnxruntime target): 99.999 gave 3.82 %
 * and 5.14 %, 99.99 3.91 % and 10.86 %, 99.9 7.27 % and 17.12 %, min/max 4.12 % and 5.56 %.
 */
export const DEFAULT_PERCENTILE = 99.999;

function calibrationMethod(text: string | undefined): CalibrationMethod {
  if (text === undefined) return { kind: 'percentile', percentile: DEFAULT_PERCENTILE };
  if (text === 'minmax') return { kind: 'minmax' };
  const m = /^percentile(?::(.+))?$/.exec(text);
  const percentile = m && (m[1] === undefined ? DEFAULT_PERCENTILE : Number(m[1]));
  if (percentile === null || !(percentile > 50 && percentile <= 100)) throw new UsageError(`--calibration ${text}: expected minmax, percentile or percentile:P with P above 50 and at most 100 (percentile:99.999)`);
  return { kind: 'percentile', percentile };
}

/** `--quantize dynamic|static [--quantize-exclude a.b,c] [--calibrate F | --calibrate-images DIR] [--calibration M]`, or undefined without --quantize. */
export function quantizeRequest(args: Args): QuantizeRequest | undefined {
  const mode = option(args, 'quantize');
  const exclude = option(args, 'quantize-exclude');
  const [file, images, method] = [option(args, 'calibrate'), option(args, 'calibrate-images'), option(args, 'calibration')];
  const calibrating = [file && '--calibrate', images && '--calibrate-images', method && '--calibration'].filter(Boolean);
  if (mode !== 'static' && calibrating.length) throw new UsageError(`${calibrating.join(', ')} calibrate${calibrating.length > 1 ? '' : 's'} --quantize static; give --quantize static too${mode === 'dynamic' ? ' (dynamic quantization measures each activation as it runs)' : ''}`);
  if (mode === undefined) {
    if (exclude !== undefined) throw new UsageError('--quantize-exclude chooses modules that --quantize leaves float; give --quantize dynamic or static too');
    return undefined;
  }
  if (mode !== 'dynamic' && mode !== 'static') throw new UsageError(`--quantize ${mode}: expected dynamic or static`);
  const paths = (exclude ?? '').split(',').map((p) => p.trim());
  if (exclude !== undefined && paths.some((p) => p === '')) throw new UsageError(`--quantize-exclude ${JSON.stringify(exclude)}: expected module paths separated by commas (heads.head,encoder.layers.encoder_layer_11)`);
  const excluded = exclude === undefined ? [] : paths;
  if (mode === 'dynamic') return { mode, exclude: excluded };
  if (!file === !images) throw new UsageError(`--quantize static: give ${file ? 'one of --calibrate and --calibrate-images, not both' : 'its calibration inputs: --calibrate FILE.safetensors (the model\'s inputs by name, as run --inputs) or --calibrate-images DIR (PNG/JPEG, for a vision model)'}`);
  return { mode, exclude: excluded, source: file ? { file } : { images: images! }, method: calibrationMethod(method) };
}

/** What the report says when an output moved by more than the 2 % a quantized model should keep, or a top-1 answer changed. */
export function accuracyNote(accuracies: readonly OutputAccuracy[], lastModule: string | undefined): string | undefined {
  const hint = lastModule ? ` (the last Linear, often the most sensitive: --quantize-exclude ${lastModule})` : '';
  return movedNote(accuracies, `--quantize-exclude keeps modules float${hint}`);
}

/** The batch the accuracy report runs (seeded random inputs, seed 0; other symbolic dims 5, as `run --random-inputs`). */
export const REPORT_BATCH = 8;

/** Every output of `model` over `batches`, the float ones' rows one batch after another (one session). */
async function runBatches(model: ModelProto, batches: readonly Readonly<Record<string, HostTensor>>[]): Promise<Record<string, HostTensor>> {
  const session = await openOnnxModel(model);
  try {
    const outs: Record<string, HostTensor>[] = [];
    for (const batch of batches) outs.push(await session.run(batch));
    return Object.fromEntries(Object.keys(outs[0]!).filter((k) => outs[0]![k]!.dtype === 'float32').map((k) => [k, concatRows(outs.map((o) => o[k] as HostTensor<'float32'>))]));
  } finally {
    await session.release();
  }
}

const methodText = (m: CalibrationMethod) => (m.kind === 'minmax' ? 'min/max' : `percentile ${m.percentile}`);

/**
 * Exports, quantizes, measures against the fp32 model, then writes the quantized model; returns the
 * files and the report. A static request calibrates on `calibration` and reports on it too.
 */
export async function exportQuantized(graph: Graph, options: OnnxExportOptions & OnnxFileOptions, request: QuantizeRequest, calibration?: CalibrationInputs): Promise<{ files: OnnxFiles; report: string; decisions: readonly QuantizeDecision[] }> {
  // the in-projections stay matmuls the pass quantizes (not inside com.microsoft Attention)
  const fp32 = exportOnnxModel(graph, { ...options, fuseInProjection: false });
  const passOptions = { target: options.target, exclude: request.exclude };
  const dynamic = quantizeDynamic(fp32, passOptions);
  const { decisions, unmatched } = dynamic;
  if (unmatched.length) {
    const modules = [...new Set(decisions.flatMap((d) => (d.weight ? [modulePath(d.weight)] : [])))];
    const shown = modules.length > 6 ? [...modules.slice(0, 6), `... (${modules.length} in all)`] : modules;
    throw new UsageError(`--quantize-exclude ${unmatched.join(',')}: no Linear with a constant weight under ${unmatched.length > 1 ? 'these module paths' : 'this module path'}; the model's are ${shown.join(', ') || 'none'}`);
  }
  if (!decisions.some((d) => d.weight)) throw new UsageError(`--quantize ${request.mode}: the model has no matmul with a constant weight (no Linear) to quantize`);
  let model = dynamic.model;
  let header: string;
  let reportInputs: readonly Record<string, HostTensor>[];
  let reportOn: string;
  if (request.mode === 'static') {
    if (!calibration) throw new Error('exportQuantized: a static request needs its calibration inputs');
    const activations = decisions.filter((d) => d.quantized).map((d) => d.activation);
    const ranges = await calibrate(fp32, activations, calibration.batches, request.method);
    model = quantizeStatic(fp32, ranges, passOptions).model;
    header = `quantized static (${methodText(request.method)} ranges of ${new Set(activations).size} activations over ${calibration.description})`;
    [reportInputs, reportOn] = [calibration.batches, `the calibration inputs (${calibration.description})`];
  } else {
    header = 'quantized dynamic';
    [reportInputs, reportOn] = [[randomInputs(graph, symbolSizes(graph, { batch: REPORT_BATCH, other: 5 }), 0)], `seeded random inputs (batch ${REPORT_BATCH}, seed 0)`];
  }
  const [reference, got] = [await runBatches(fp32, reportInputs), await runBatches(model, reportInputs)];
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
  const activationsText = request.mode === 'static' ? 'activations per tensor with calibrated scales, QDQ' : 'activations per tensor at run time';
  return {
    files,
    decisions,
    report: [
      `${header}: ${quantized} of ${decisions.length} matmuls to int8 (weights per output column, ${activationsText})${kept.length ? `; float: ${kept.join(', ')}` : ''}`,
      `against the fp32 export on ONNX Runtime, ${reportOn}:`,
      ...accuracies.map((a) => `  ${formatAccuracy(a)}`),
      ...(note ? [note] : []),
    ].join('\n'),
  };
}
