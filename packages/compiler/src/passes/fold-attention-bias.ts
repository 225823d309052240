/**
 * With the weights known (inference, export), an Attention node's bias and mask that depend on
 * parameters and constants only are evaluated once and become constants: Swin's relative
 * position bias (a gather from a learned table) plus its shifted-window mask is one additive
 * tensor per block. In training the table must keep learning, so compile runs this pass only in
 * eval mode with weights given.
 */
import { type Graph, type HostTensor, isSymbolic, type Node, opDef, type OpName } from '@tessera/graph-dsl';
import { GraphEditor, producers } from '../edit.ts';
import { evaluateHost, hasHostKernel } from '../host/index.ts';
import type { Pass, PassContext } from '../pass.ts';

const BIAS = 3;
const MASK = 4;

export function foldAttentionBias(weights: ReadonlyMap<string, HostTensor>): Pass {
  return {
    name: 'fold-attention-bias',
    run(graph: Graph, ctx: PassContext): Graph {
      const producer = producers(graph);
      const params = new Map(graph.params.flatMap((p) => (weights.has(p.name) ? [[p.value, weights.get(p.name)!] as const] : [])));
      const memo = new Map<number, HostTensor | undefined>();
      /** The value's tensor when it depends on known parameters and constants only; undefined otherwise. */
      const evaluate = (value: number): HostTensor | undefined => {
        if (memo.has(value)) return memo.get(value);
        let result: HostTensor | undefined = params.get(value);
        const node: Node | undefined = producer.get(value);
        if (node && foldable(node, graph)) {
          const inputs = node.inputs.map((i) => (i === null ? null : evaluate(i)));
          if (inputs.every((t) => t !== undefined)) result = evaluateHost(node.op as OpName, inputs, node.attrs as never)[node.outputs.indexOf(value)];
        }
        memo.set(value, result);
        return result;
      };
      const editor = new GraphEditor(graph, 'fold-attention-bias');
      for (const node of graph.nodes) {
        if (node.op !== 'Attention') {
          editor.copy(node);
          continue;
        }
        const inputs = editor.inputsOf(node);
        for (const slot of [BIAS, MASK]) {
          const old = node.inputs[slot];
          if (old === null || old === undefined || producer.get(old)?.op === 'Constant') continue;
          const folded = evaluate(old);
          if (!folded) continue;
          inputs[slot] = editor.constant(folded, node.source);
          ctx.count(slot === BIAS ? 'bias-folded' : 'mask-folded');
        }
        const outputs = editor.add('Attention', inputs, node.attrs, node.source);
        node.outputs.forEach((o, i) => editor.replace(o, outputs[i]!));
      }
      return editor.finish();
    },
  };
}

function foldable(node: Node, graph: Graph): boolean {
  if (opDef(node.op).impure || !hasHostKernel(node.op as OpName)) return false;
  return node.outputs.every((o) => !graph.types.get(o)!.shape.some(isSymbolic));
}
