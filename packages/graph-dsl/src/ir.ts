import type { HostTensor } from './dtype.ts';
import { dimToString, shapeToString } from './dim.ts';
import type { AttrsOf, OpName, TensorType } from './ops/index.ts';

/** Where an op was written: the user's file and line, and the module path it ran in. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted module path ('encoder.layers.0.self_attn'), '' at the top. */
  readonly scope: string;
}

/** A node of the graph: one op application. Inputs are value ids (null for an absent optional input). */
export type Node = {
  [N in OpName]: {
    readonly op: N;
    readonly attrs: AttrsOf<N>;
    readonly inputs: readonly (number | null)[];
    readonly outputs: readonly number[];
    readonly source?: SourceRef;
  };
}[OpName];

export type NodeOf<N extends OpName> = Extract<Node, { op: N }>;

/** How a parameter starts when no weights are loaded (PyTorch's default initializers). */
export type Init =
  | { readonly kind: 'uniform'; readonly low: number; readonly high: number }
  | { readonly kind: 'normal'; readonly mean: number; readonly std: number; readonly truncate?: number }
  | { readonly kind: 'constant'; readonly value: number }
  | { readonly kind: 'data'; readonly tensor: HostTensor };

export interface NamedValue {
  readonly name: string;
  readonly value: number;
}

export interface Param extends NamedValue {
  readonly init: Init;
}

/**
 * The IR: a typed graph in topological order. Values are numbered; the types of all values
 * (inputs, parameters, node outputs) live in `types`. Graphs are immutable: passes build new ones.
 */
export interface Graph {
  readonly types: ReadonlyMap<number, TensorType>;
  readonly nodes: readonly Node[];
  readonly inputs: readonly NamedValue[];
  readonly params: readonly Param[];
  readonly outputs: readonly NamedValue[];
}

export function typeOf(graph: Graph, value: number): TensorType {
  const t = graph.types.get(value);
  if (!t) throw new Error(`value %${value} has no type in this graph`);
  return t;
}

export function typeToString(t: TensorType): string {
  const short = t.dtype === 'float32' ? 'f32' : t.dtype === 'int32' ? 'i32' : 'bool';
  return `${short}${shapeToString(t.shape)}`;
}

function attrToString(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(attrToString).join(', ')}]`;
  if (v && typeof v === 'object' && 'terms' in v) return dimToString(v as never);
  if (v && typeof v === 'object' && 'data' in v && 'shape' in v) {
    const t = v as HostTensor;
    const values = Array.from(t.data.slice(0, 6), (x) => +x.toPrecision(5));
    return `tensor<${typeToString({ dtype: t.dtype, shape: t.shape })}>(${values.join(', ')}${t.data.length > 6 ? ', ...' : ''})`;
  }
  return JSON.stringify(v);
}

/** The graph as text a person reads: one line a node, with types and the user's source line. */
export function printGraph(graph: Graph): string {
  const names = new Map<number, string>();
  for (const v of [...graph.inputs, ...graph.params]) names.set(v.value, `%${v.name}`);
  const name = (id: number | null) => (id === null ? '_' : (names.get(id) ?? `%${id}`));
  const lines: string[] = [];
  const sig = graph.inputs.map((i) => `${name(i.value)}: ${typeToString(typeOf(graph, i.value))}`).join(', ');
  lines.push(`graph(${sig}) {`);
  for (const p of graph.params) lines.push(`  param ${name(p.value)}: ${typeToString(typeOf(graph, p.value))}`);
  for (const node of graph.nodes) {
    const outs = node.outputs.map((o) => `${name(o)}: ${typeToString(typeOf(graph, o))}`).join(', ');
    const attrs = Object.entries(node.attrs as object).map(([k, v]) => `${k}=${attrToString(v)}`);
    const where = node.source ? `  # ${node.source.file}:${node.source.line}${node.source.scope ? ` (${node.source.scope})` : ''}` : '';
    lines.push(`  ${outs} = ${node.op}${attrs.length ? `[${attrs.join(', ')}]` : ''}(${node.inputs.map(name).join(', ')})${where}`);
  }
  lines.push(`  return ${graph.outputs.map((o) => `${o.name}=${name(o.value)}`).join(', ')}`);
  lines.push('}');
  return lines.join('\n');
}
