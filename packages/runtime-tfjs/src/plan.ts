/**
 * Lowering a graph to an execution plan: one step per node (or per fused group), the values
 * each step frees once it has run, and the constants hoisted out of the run.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  type Dim, type Graph, type HostTensor, isOpName, type Node, type OpName, type SourceRef, sourceToString, symbolsOf, typeOf,
} from '@tessera/graph-dsl';
import { LoweringError } from './errors.ts';
import { KERNELS, type KernelContext, matMul } from './kernels/index.ts';

export interface Step {
  /** The op this step runs; a fused step names its main op and says what it absorbed in `label`. */
  readonly op: OpName;
  /** For people: 'MatMul', 'MatMul(transposeB)+Add(bias)'. */
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
  const steps = fuse(graph, nodes);
  return finish(graph, steps, constants);
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

const isLastTwoSwap = (perm: readonly number[]) => perm.length >= 2 && perm.every((p, i) => (i < perm.length - 2 ? p === i : p === (i === perm.length - 2 ? perm.length - 1 : perm.length - 2)));

/**
 * Plan-level fusions onto the best tfjs calls: a transpose of the last two axes read only by
 * matmuls becomes matMul's transposeA/B flag, and a matmul read only by an add of a 1-D bias
 * becomes tf.fused.matMul with that bias (nn.Linear).
 */
function fuse(graph: Graph, nodes: readonly Node[]): Draft[] {
  const readers = new Map<number, Node[]>();
  for (const n of nodes) for (const v of n.inputs) if (v !== null) readers.set(v, [...(readers.get(v) ?? []), n]);
  const returned = new Set(graph.outputs.map((o) => o.value));
  const producer = new Map<number, Node>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const onlyReadBy = (v: number, op: OpName) => !returned.has(v) && (readers.get(v) ?? []).length > 0 && readers.get(v)!.every((r) => r.op === op);

  const absorbed = new Set<Node>();
  const swapped = (v: number): number | undefined => {
    const p = producer.get(v);
    if (p?.op === 'Transpose' && isLastTwoSwap(p.attrs.perm) && onlyReadBy(v, 'MatMul')) return p.inputs[0]!;
    return undefined;
  };
  for (const n of nodes) {
    if (n.op !== 'MatMul') continue;
    for (const v of n.inputs) if (v !== null && swapped(v) !== undefined) absorbed.add(producer.get(v)!);
  }
  const biasOf = new Map<Node, { add: Node; bias: number }>();
  for (const n of nodes) {
    if (n.op !== 'MatMul') continue;
    const out = n.outputs[0]!;
    const rs = readers.get(out) ?? [];
    if (returned.has(out) || rs.length !== 1 || rs[0]!.op !== 'Add') continue;
    const add = rs[0]!;
    const other = add.inputs[0] === out ? add.inputs[1]! : add.inputs[0]!;
    if (other === out) continue;
    const bias = typeOf(graph, other);
    const mm = typeOf(graph, out);
    const outType = typeOf(graph, add.outputs[0]!);
    if (bias.shape.length === 1 && String(bias.shape[0]) === String(mm.shape[mm.shape.length - 1]) && outType.shape.length === mm.shape.length) {
      biasOf.set(n, { add, bias: other });
      absorbed.add(add);
    }
  }

  const drafts: Draft[] = [];
  for (const n of nodes) {
    if (absorbed.has(n)) continue;
    if (n.op !== 'MatMul') {
      drafts.push(plainStep(n));
      continue;
    }
    const [a, b] = n.inputs as [number, number];
    const [srcA, srcB] = [swapped(a), swapped(b)];
    const transposeA = srcA !== undefined;
    const transposeB = srcB !== undefined;
    const fusedBias = biasOf.get(n);
    if (!transposeA && !transposeB && !fusedBias) {
      drafts.push(plainStep(n));
      continue;
    }
    const flags = [transposeA && 'transposeA', transposeB && 'transposeB'].filter(Boolean).join(', ');
    const label = `MatMul${flags ? `(${flags})` : ''}${fusedBias ? '+Add(bias)' : ''}`;
    drafts.push({
      op: 'MatMul',
      label,
      inputs: fusedBias ? [srcA ?? a, srcB ?? b, fusedBias.bias] : [srcA ?? a, srcB ?? b],
      outputs: fusedBias ? fusedBias.add.outputs : n.outputs,
      ...(n.source ? { source: n.source } : {}),
      run: ([x, y, bias]) => [matMul(x!, y!, transposeA, transposeB, bias)],
    });
  }
  return drafts;
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
