/**
 * Lowering a graph to an execution plan: one step per node, the values each step frees once it
 * has run, and the constants hoisted out of the run. Fusions are the compiler's (Linear,
 * Attention, ...): the plan maps each op to its kernel and nothing else.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  type Dim, type Graph, type HostTensor, isOpName, type Node, type OpName, type SourceRef, sourceToString, symbolsOf, typeOf,
} from '@tessera/graph-dsl';
import { LoweringError } from './errors.ts';
import { KERNELS, type KernelContext } from './kernels/index.ts';

export interface Step {
  readonly op: OpName;
  /** For people: the op's name. */
  readonly label: string;
  readonly inputs: readonly (number | null)[];
  readonly outputs: readonly number[];
  readonly source?: SourceRef;
  readonly run: (inputs: readonly tf.Tensor[], ctx: KernelContext) => tf.Tensor[];
  /** Values produced by the plan whose last reader is this step: freed right after it (eval). */
  readonly free: readonly number[];
}

export interface Plan {
  readonly graph: Graph;
  readonly steps: readonly Step[];
  /** Constant nodes, hoisted: made into tensors once per session, never freed by a run. */
  readonly constants: ReadonlyMap<number, HostTensor>;
  /** For every value read by a step or returned: the index of its last reader (steps.length for graph outputs). */
  readonly lastUse: ReadonlyMap<number, number>;
  /** Symbols of the input shapes: what a run binds from the tensors it is given. */
  readonly symbols: readonly string[];
}

/** Lowers a graph for tfjs. Throws LoweringError for an op with no kernel or a symbol no input binds. */
export function lowerGraph(graph: Graph): Plan {
  checkSymbols(graph);
  const constants = new Map<number, HostTensor>();
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    if (!isOpName(node.op)) throw new LoweringError(`op ${String(node.op)} has no tfjs kernel${where(node.source)}`);
    if (node.op === 'Constant') constants.set(node.outputs[0]!, node.attrs.value);
    else nodes.push(node);
  }
  return finish(graph, nodes.map(plainStep), constants);
}

function where(source: SourceRef | undefined): string {
  return source ? ` (at ${sourceToString(source)})` : '';
}

function checkSymbols(graph: Graph): void {
  const bound = new Set(graph.inputs.flatMap((i) => typeOf(graph, i.value).shape.flatMap(symbolsOf)));
  const dimsOfNode = (node: Node): Dim[] => {
    const attrs = node.attrs as { shape?: readonly Dim[]; end?: Dim };
    return [...node.outputs.flatMap((o) => typeOf(graph, o).shape), ...(node.op === 'Range' ? [attrs.end!] : []), ...(node.op === 'Reshape' || node.op === 'Expand' ? attrs.shape! : [])];
  };
  for (const p of graph.params) {
    const free = typeOf(graph, p.value).shape.flatMap(symbolsOf);
    if (free.length) throw new LoweringError(`parameter ${p.name} has the symbolic shape dims ${free.join(', ')}: parameters must have concrete shapes`);
  }
  for (const node of graph.nodes) {
    const unbound = [...new Set(dimsOfNode(node).flatMap(symbolsOf))].filter((s) => !bound.has(s));
    if (unbound.length) {
      throw new LoweringError(`${node.op}${where(node.source)} uses the symbol${unbound.length > 1 ? 's' : ''} ${unbound.join(', ')}, which no input shape has, so a run could not give it a value`);
    }
  }
}

type Draft = Omit<Step, 'free'>;

function plainStep(node: Node): Draft {
  const kernel = KERNELS[node.op] as (inputs: readonly tf.Tensor[], attrs: object, ctx: KernelContext) => tf.Tensor[];
  const attrs = node.attrs as object;
  return { op: node.op, label: node.op, inputs: node.inputs, outputs: node.outputs, ...(node.source ? { source: node.source } : {}), run: (inputs, ctx) => kernel(inputs, attrs, ctx) };
}

function finish(graph: Graph, drafts: readonly Draft[], constants: ReadonlyMap<number, HostTensor>): Plan {
  const lastUse = new Map<number, number>();
  drafts.forEach((s, i) => s.inputs.forEach((v) => v !== null && lastUse.set(v, i)));
  for (const o of graph.outputs) lastUse.set(o.value, drafts.length);
  const produced = new Set(drafts.flatMap((s) => s.outputs));
  const freeAt = drafts.map((): number[] => []);
  for (const v of produced) {
    const last = lastUse.get(v);
    if (last === drafts.length) continue;
    // A value no step reads is freed right after the step that made it.
    const at = last ?? drafts.findIndex((s) => s.outputs.includes(v));
    freeAt[at]!.push(v);
  }
  const steps = drafts.map((d, i) => ({ ...d, free: freeAt[i]! }));
  const symbols = [...new Set(graph.inputs.flatMap((i) => typeOf(graph, i.value).shape.flatMap(symbolsOf)))].sort();
  return { graph, steps, constants, lastUse, symbols };
}

/** The plan as text: one line a step, with what it frees. */
export function printPlan(plan: Plan): string {
  const names = new Map<number, string>();
  for (const v of [...plan.graph.inputs, ...plan.graph.params]) names.set(v.value, v.name);
  const name = (v: number | null) => (v === null ? '_' : `%${names.get(v) ?? v}`);
  return plan.steps
    .map((s, i) => `${String(i).padStart(3)}: ${s.outputs.map(name).join(', ')} = ${s.label}(${s.inputs.map(name).join(', ')})${s.free.length ? `  free ${s.free.map(name).join(', ')}` : ''}`)
    .join('\n');
}
