/**
 * `tessera export --quantize dynamic`: the compiler's quantization pass over the exported model,
 * then, before the file is written, the quantized and the fp32 model run on ONNX Runtime on seeded
 * random inputs, and each output's error (and top-1 agreement for a classifier's logits) is reported.
 */
import { exportOnnxModel, modulePath, type OnnxExportOptions, quantizeDynamic } from '@tessera/compiler';
import { type OnnxFileOptions, type OnnxFiles, runOnnxModel, writeOnnxModelFiles } from '@tessera/compiler/node';
import { type Graph, type HostTensor, randomInputs, symbolSizes } from '@tessera/graph-dsl';
import { type Args, option, UsageError } from './args.ts';
import { argmax } from './seq2seq/translator.ts';

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

export interface OutputAccuracy {
  readonly name: string;
  readonly shape: readonly number[];
  readonly maxAbs: number;
  /** max abs / max |fp32|; NaN when the fp32 output is all zeros. */
  readonly relative: number;
  /** Rows of a (B, classes) output whose arg max is the fp32 one's. */
  readonly top1?: { readonly agree: number; readonly rows: number };
}

/** Each float output of `got` against the same output of `reference`. */
export function compareOutputs(reference: Readonly<Record<string, HostTensor>>, got: Readonly<Record<string, HostTensor>>): OutputAccuracy[] {
  return Object.entries(reference)
    .filter(([, t]) => t.dtype === 'float32')
    .map(([name, ref]) => {
      const out = got[name];
      if (!out || out.data.length !== ref.data.length) throw new Error(`quantized model: output ${name} is missing or of another size`);
      let [maxAbs, peak] = [0, 0];
      for (let i = 0; i < ref.data.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(out.data[i]! - ref.data[i]!));
        peak = Math.max(peak, Math.abs(ref.data[i]!));
      }
      const [rows, classes] = ref.shape as [number, number];
      const agree = () => Array.from({ length: rows }, (_, r) => argmax(ref.data, r * classes, classes) === argmax(out.data, r * classes, classes)).filter(Boolean).length;
      // a classifier's logits: (B, classes)
      const top1 = ref.shape.length === 2 && classes > 1 ? { agree: agree(), rows } : undefined;
      return { name, shape: ref.shape, maxAbs, relative: peak > 0 ? maxAbs / peak : NaN, ...(top1 ? { top1 } : {}) };
    });
}

export function formatAccuracy(a: OutputAccuracy): string {
  const top1 = a.top1 ? `, top-1 agreement ${a.top1.agree}/${a.top1.rows}` : '';
  // torchvision's heads start at zero: the initial weights give all-zero logits
  const relative = Number.isNaN(a.relative) ? 'relative n/a (the fp32 output is all zeros: initial weights? give --weights)' : `relative ${(a.relative * 100).toFixed(2)} %`;
  return `${a.name} [${a.shape.join(', ')}]: max abs ${a.maxAbs.toExponential(2)}, ${relative}${top1}`;
}

/** What the report says when an output moved by more than the 2 % a quantized model should keep, or a top-1 answer changed. */
export function accuracyNote(accuracies: readonly OutputAccuracy[], lastModule: string | undefined): string | undefined {
  const moved = accuracies.filter((a) => a.relative > 0.02 || (a.top1 && a.top1.agree < a.top1.rows)).map((a) => a.name);
  if (!moved.length) return undefined;
  const hint = lastModule ? ` (the last Linear, often the most sensitive: --quantize-exclude ${lastModule})` : '';
  return `note: ${moved.join(', ')} moved by more than 2 % or changed a top-1 answer; --quantize-exclude keeps modules float${hint}`;
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
