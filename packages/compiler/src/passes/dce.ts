import type { Graph } from '@tessera/graph-dsl';
import { GraphEditor } from '../edit.ts';
import type { Pass, PassContext } from '../pass.ts';

/**
 * Dead-code elimination: removes every node none of whose outputs reaches a graph output.
 *
 * Graph inputs and parameters always stay, used or not: the parameters are the model's
 * state_dict, and a checkpoint must load by the same names whatever the compiler removed
 * (a pooler unused by this head, a bias folded away), and the inputs are the model's signature.
 * Impure ops are removed too when their result is unused: they draw random numbers but have no
 * effect outside their output.
 */
export function dce(): Pass {
  return {
    name: 'dce',
    run(graph: Graph, ctx: PassContext): Graph {
      const live = new Set(graph.outputs.map((o) => o.value));
      const keep = new Set<number>();
      for (let n = graph.nodes.length - 1; n >= 0; n--) {
        const node = graph.nodes[n]!;
        if (!node.outputs.some((o) => live.has(o))) continue;
        keep.add(n);
        for (const i of node.inputs) if (i !== null) live.add(i);
      }
      const editor = new GraphEditor(graph, 'dce');
      graph.nodes.forEach((node, n) => {
        if (keep.has(n)) editor.copy(node);
      });
      const removed = graph.nodes.length - keep.size;
      if (removed) ctx.count('removed', removed);
      return editor.finish();
    },
  };
}
