/**
 * Held-out figures of the models `tessera train` makes, before and after int8 quantization (issue
 * 10's accuracy target): the fp32 ONNX export of a graph and the int8 model `tessera export
 * --quantize dynamic` makes from it, and the one line that sets a figure on tfjs, on ONNX Runtime
 * and int8 on ONNX Runtime side by side against the issue's target.
 */
import { exportOnnxModel, type ModelProto, quantizeDynamic } from '@tessera/compiler';
import type { Graph, HostTensor } from '@tessera/graph-dsl';
import { UsageError } from './args.ts';

/** ONNX ops that only an int8 model has (both forms `quantizeDynamic` writes). */
export const INT8_OPS: readonly string[] = ['MatMulInteger', 'DynamicQuantizeMatMul'];

export interface QuantizedPair {
  readonly fp32: ModelProto;
  readonly int8: ModelProto;
  /** Matmuls the pass made int8, of those it looked at. */
  readonly quantized: number;
  readonly matmuls: number;
}

/** The weights a graph reads, of a larger set (a translator's halves each read some of its weights). */
export const weightsOf = (graph: Graph, weights: ReadonlyMap<string, HostTensor>): Map<string, HostTensor> => new Map(graph.params.map((p) => [p.name, weights.get(p.name)!]));

/** A graph's fp32 export (portable target, as `tessera export`) and the compiler's `quantizeDynamic` of it. */
export function quantizedPair(graph: Graph, weights: ReadonlyMap<string, HostTensor>): QuantizedPair {
  const fp32 = exportOnnxModel(graph, { weights: weightsOf(graph, weights) });
  const { model, decisions } = quantizeDynamic(fp32);
  return { fp32, int8: model, quantized: decisions.filter((d) => d.quantized).length, matmuls: decisions.length };
}

/** How many nodes of a model run int8 matmuls. */
export const int8Nodes = (model: ModelProto): number => (model.graph?.node ?? []).filter((n) => INT8_OPS.includes(n.opType ?? '')).length;

/** One figure three ways: fp32 on tfjs, the fp32 ONNX export on ONNX Runtime, its int8 model on ONNX Runtime. */
export interface Figures {
  readonly tfjs: number;
  readonly onnx: number;
  readonly int8: number;
}

export interface FigureStyle {
  /** Decimals shown. */
  readonly digits: number;
  /** After each value ('%'), and the unit of the difference (' points'). */
  readonly suffix: string;
  readonly unit: string;
  /** The target: at most this much lost from fp32 to int8 (both on ONNX Runtime), in the figure's units. */
  readonly maxDrop?: number;
}

/**
 * `held-out accuracy: tfjs fp32 91.3%, onnxruntime fp32 91.3%, onnxruntime int8 91.0% (int8 - fp32
 * -0.3 points; target: a drop of at most 0.5 points, met)`. The difference is taken on one runtime,
 * so that it is the quantization's alone.
 */
export function figuresLine(metric: string, f: Figures, s: FigureStyle): string {
  const show = (v: number) => `${v.toFixed(s.digits)}${s.suffix}`;
  const diff = f.int8 - f.onnx;
  // rounded as shown: a difference printed as -0.0 is none
  const shown = Number(diff.toFixed(s.digits));
  const target = s.maxDrop === undefined ? '' : `; target: a drop of at most ${s.maxDrop}${s.unit}, ${-shown <= s.maxDrop ? 'met' : 'NOT met'}`;
  return `${metric}: tfjs fp32 ${show(f.tfjs)}, onnxruntime fp32 ${show(f.onnx)}, onnxruntime int8 ${show(f.int8)} (int8 - fp32 ${shown > 0 ? '+' : ''}${(shown === 0 ? 0 : shown).toFixed(s.digits)}${s.unit}${target})`;
}

/**
 * `tessera train ... --resume DIR --epochs 0` evaluates DIR without training it (and writes
 * nothing): the checkpoint to evaluate then, or undefined when there are epochs to train.
 */
export function checkpointToEvaluate(epochs: number, resume: string | undefined): string | undefined {
  if (epochs > 0) return undefined;
  if (resume === undefined) throw new UsageError('--epochs 0 trains nothing: it evaluates the checkpoint --resume DIR names; give --resume DIR');
  return resume;
}
