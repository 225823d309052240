/** Dead-node elimination over ONNX nodes, for the exporter and for passes over an exported model. */
import type { NodeProto } from './proto.ts';

/**
 * The nodes some of `outputs` depends on, in their order, and every name read on the way (the
 * outputs included: an initializer outside it is unused). `nodes` must be in topological order, as
 * ONNX requires.
 */
export function liveNodes(nodes: readonly NodeProto[], outputs: Iterable<string>): { nodes: NodeProto[]; read: Set<string> } {
  const read = new Set(outputs);
  const kept: NodeProto[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.output!.some((o) => read.has(o))) continue;
    kept.push(node);
    for (const x of node.input ?? []) read.add(x);
  }
  return { nodes: kept.reverse(), read };
}
