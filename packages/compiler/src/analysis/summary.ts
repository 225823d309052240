/**
 * A model's summary as `tessera summary` prints it and the playground shows it: inputs, outputs,
 * the layer tree (state_dict paths) with output types and parameter counts, total parameters and
 * FLOPs of the compiled graph.
 */
import { addDims, type Dim, dimToString, type Graph, type HostTensor, type Module, sizeOf, typeToString } from '@tessera/graph-dsl';
import { graphFlops, nodeFlops } from './cost.ts';

/** What a summary reads: a built model, its traced and compiled graphs and its weights. */
export interface SummaryInput {
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly module: Module;
  readonly traced: Graph;
  readonly graph: Graph;
  readonly weights: ReadonlyMap<string, HostTensor>;
}

export interface LayerRow {
  readonly path: string;
  readonly type: string;
  readonly depth: number;
  readonly parameters: number;
  /** Type of the last value the layer computed. */
  readonly output: string | undefined;
  /** FLOPs of the compiled graph's nodes written in the layer (a fused node counts where its root was written). */
  readonly flops: string;
}

export interface Summary {
  readonly model: string;
  readonly config: Record<string, unknown>;
  readonly inputs: Record<string, string>;
  readonly outputs: Record<string, string>;
  readonly layers: readonly LayerRow[];
  readonly parameters: number;
  readonly flops: string;
}

/** The nodes written in a layer (its module path, or below it). */
function nodesIn(graph: Graph, path: string): Graph['nodes'] {
  const inside = (scope: string) => path === '' || scope === path || scope.startsWith(`${path}.`);
  return graph.nodes.filter((n) => n.source && inside(n.source.scope));
}

function lastOutputIn(graph: Graph, path: string): string | undefined {
  const node = nodesIn(graph, path).at(-1);
  return node && typeToString(graph.types.get(node.outputs[0]!)!);
}

const flopsOf = (graph: Graph, nodes: Graph['nodes']): Dim => nodes.reduce<Dim>((total, node) => addDims(total, nodeFlops(node, graph)), 0);

export function summarize(model: SummaryInput): Summary {
  const { traced, graph } = model;
  const sizes = new Map([...model.weights].map(([k, t]) => [k, sizeOf(t.shape)]));
  const countUnder = (path: string) => [...sizes].filter(([k]) => path === '' || k.startsWith(`${path}.`)).reduce((a, [, n]) => a + n, 0);
  const layers = model.module.namedModules().map(([path, m]) => ({
    path,
    type: m.constructor.name,
    depth: path === '' ? 0 : path.split('.').filter((p) => !/^\d+$/.test(p)).length,
    parameters: countUnder(path),
    output: lastOutputIn(traced, path),
    flops: dimToString(flopsOf(graph, nodesIn(graph, path))),
  }));
  const typed = (values: Graph['inputs']) => Object.fromEntries(values.map((v) => [v.name, typeToString(graph.types.get(v.value)!)]));
  const flops: Dim = graphFlops(graph);
  return {
    model: model.name,
    config: { ...model.config },
    inputs: typed(graph.inputs),
    outputs: typed(graph.outputs),
    layers,
    parameters: countUnder(''),
    flops: dimToString(flops),
  };
}

/** Parameter counts as people write them: 86.6M, 12.3K. */
export function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** A FLOP count with its big numbers as people write them: 35240325688*B -> 35.24G*B. */
export function readableFlops(flops: string): string {
  return flops.replace(/\d{4,}/g, (n) => humanCount(Number(n)));
}
