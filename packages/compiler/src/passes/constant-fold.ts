import { type Graph, type HostTensor, isSymbolic, type Node, opDef, type OpName, sizeOf, SymDim, typeToString } from '@tessera/graph-dsl';
import { GraphEditor } from '../edit.ts';
import { evaluateHost, hasHostKernel } from '../host/index.ts';
import type { Pass, PassContext } from '../pass.ts';

export interface ConstantFoldOptions {
  /**
   * The largest folded result, in elements (default 1M): a bigger one is left as the op, so that
   * a small constant expanded to a huge one does not bloat the model. A result no larger than
   * its largest constant input folds whatever its size.
   */
  readonly maxElements?: number;
}

function hasSymbolicAttr(attrs: object): boolean {
  const walk = (v: unknown): boolean => v instanceof SymDim || (Array.isArray(v) && v.some(walk));
  return Object.values(attrs).some(walk);
}

/**
 * Constant folding: a pure node whose inputs are all constants is evaluated on the host (the
 * reference kernels in host/) and replaced by a Constant. A forward walk folds whole chains,
 * so shape-only subgraphs (a Range compared with itself, a Where, reshapes, a Roll of a region
 * map) become one Constant. Not folded: impure ops (Dropout), ops whose result has a symbolic
 * shape or a symbolic attribute (a Range to 'T'), ops without a host kernel, and results over
 * the size cap. The inputs it no longer needs are left for dce.
 */
export function constantFold(options: ConstantFoldOptions = {}): Pass {
  const cap = options.maxElements ?? 1 << 20;
  return {
    name: 'constant-fold',
    run(graph: Graph, ctx: PassContext): Graph {
      const editor = new GraphEditor(graph, 'constant-fold');
      /** Known constants of the new graph. */
      const known = new Map<number, HostTensor>();
      const foldable = (node: Node, inputs: readonly (HostTensor | null | undefined)[]): boolean => {
        if (node.op === 'Constant' || opDef(node.op).impure || !hasHostKernel(node.op as OpName)) return false;
        if (inputs.some((t) => t === undefined) || hasSymbolicAttr(node.attrs)) return false;
        const outTypes = node.outputs.map((o) => graph.types.get(o)!);
        if (outTypes.some((t) => t.shape.some(isSymbolic))) return false;
        const size = Math.max(...outTypes.map((t) => sizeOf(t.shape as number[])));
        const largestInput = Math.max(0, ...inputs.map((t) => (t ? t.data.length : 0)));
        return size <= Math.max(cap, largestInput);
      };
      for (const node of graph.nodes) {
        const inputs = editor.inputsOf(node);
        const values = inputs.map((i) => (i === null ? null : known.get(i)));
        if (node.op === 'Constant') {
          known.set(editor.copy(node)[0]!, node.attrs.value);
          continue;
        }
        if (!foldable(node, values)) {
          editor.copy(node);
          continue;
        }
        const results = evaluateHost(node.op as OpName, values as (HostTensor | null)[], node.attrs as never);
        node.outputs.forEach((o, i) => {
          const want = graph.types.get(o)!;
          const got = results[i]!;
          if (got.dtype !== want.dtype || got.shape.join() !== want.shape.join()) {
            throw new Error(`constant-fold: the host kernel of ${node.op} gave ${got.dtype}[${got.shape.join(', ')}], the graph says ${typeToString(want)}`);
          }
          const c = editor.constant(results[i]!, node.source);
          known.set(c, results[i]!);
          editor.replace(o, c);
        });
        ctx.count('folded');
      }
      return editor.finish();
    },
  };
}
