/**
 * Keeps an intermediate value of a traced graph as an extra output, picked by the module it ran in
 * and its op (torchvision's `create_feature_extractor(model, return_nodes)`, by module path). Made
 * an output before `compile`, the value survives the passes: an exposed attention softmax keeps its
 * attention fused, the `Attention` node returning its probabilities too (`probs`), as the
 * Transformer's returned attention weights do.
 */
import type { Graph, OpName } from '@tessera/graph-dsl';

/** The output of the one `op` node that ran in module `scope` (its own nodes, not its children's). */
export interface Intermediate {
  readonly scope: string;
  readonly op: OpName;
}

/** A module path or op that names no value, or several, or an output name already taken. */
export class IntermediateError extends Error {
  override readonly name = 'IntermediateError';
}

/** The modules of the graph that ran an `op` node themselves, in graph order. */
export function scopesWith(graph: Graph, op: OpName): string[] {
  return [...new Set(graph.nodes.filter((n) => n.op === op && n.source).map((n) => n.source!.scope))];
}

function valueOf(graph: Graph, { scope, op }: Intermediate): number {
  const nodes = graph.nodes.filter((n) => n.op === op && n.source?.scope === scope);
  if (nodes.length === 1) return nodes[0]!.outputs[0]!;
  const where = scopesWith(graph, op);
  if (nodes.length === 0) throw new IntermediateError(`no ${op} ran in module '${scope}'; modules with a ${op}: ${where.length ? where.join(', ') : 'none'}`);
  throw new IntermediateError(`${nodes.length} ${op} nodes ran in module '${scope}': pick a module that runs one`);
}

/** The graph with each named intermediate also returned as an output of that name. */
export function exposeIntermediates(graph: Graph, wanted: Readonly<Record<string, Intermediate>>): Graph {
  const taken = new Set(graph.outputs.map((o) => o.name));
  const extra = Object.entries(wanted).map(([name, w]) => {
    if (taken.has(name)) throw new IntermediateError(`the graph already has an output '${name}': name the intermediate otherwise`);
    return { name, value: valueOf(graph, w) };
  });
  return { ...graph, outputs: [...graph.outputs, ...extra] };
}
