import type { Graph } from '@tessera/graph-dsl';
import { GraphEditor } from '../edit.ts';
import type { Pass, PassContext } from '../pass.ts';

/**
 * Inference mode: training-only ops disappear. Dropout is the identity outside training, so its
 * uses read its input. (compile runs this pass only in eval mode; in train mode Dropout stays.)
 */
export function evalMode(): Pass {
  return {
    name: 'eval-mode',
    run(graph: Graph, ctx: PassContext): Graph {
      const editor = new GraphEditor(graph, 'eval-mode');
      for (const node of graph.nodes) {
        if (node.op === 'Dropout') {
          editor.replace(node.outputs[0]!, editor.value(node.inputs[0]!));
          ctx.count('dropout-removed');
        } else editor.copy(node);
      }
      return editor.finish();
    },
  };
}
