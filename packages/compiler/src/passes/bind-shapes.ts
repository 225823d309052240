import { type Dim, dimToString, type Graph, type OpName, shapeToString, substitute, SymDim, type TensorType, typeToString, shapesEqual } from '@tessera/graph-dsl';
import { GraphEditor, mapAttrDims, operandsToString } from '../edit.ts';
import { CompileError } from '../errors.ts';
import type { Pass } from '../pass.ts';

const PASS = 'bind-shapes';

/**
 * Shape inference with sizes: substitutes the given symbols everywhere (value types and dim
 * attributes of Reshape, Expand, Range) and re-runs every node's shape rule. A dim that
 * becomes a number must be a whole non-negative one (H/4 with H=14 is an error at the line
 * that wrote it), and the re-inferred types must agree with the traced ones after binding
 * (a symbolic slice that assumed T >= 10 fails for T=4). Unbound symbols stay symbolic.
 */
export function bindShapes(bindings: Readonly<Record<string, number>> = {}): Pass {
  for (const [name, v] of Object.entries(bindings)) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${PASS}: ${name}=${v}: a size must be a whole non-negative number`);
  }
  const map = new Map(Object.entries(bindings));
  const bound = (d: Dim) =>
    d instanceof SymDim
      ? [...new Set(d.terms.flatMap((t) => t.symbols))].filter((s) => map.has(s)).map((s) => `${s}=${map.get(s)}`).join(', ')
      : '';
  /** Substitutes, and refuses a dim that became a fraction or a negative number. */
  const bind = (d: Dim, where: string, fail: (reason: string) => never): Dim => {
    const v = substitute(d, map);
    if (typeof v === 'number' && d instanceof SymDim && (!Number.isInteger(Math.round(v * 1e9) / 1e9) || v < 0)) {
      fail(`${where} is ${dimToString(d)}, which is ${dimToString(v)} for ${bound(d)}; expected a whole non-negative number`);
    }
    return typeof v === 'number' ? Math.round(v) : v;
  };
  const bindType = (t: TensorType, what: string, fail: (reason: string) => never): TensorType => ({
    dtype: t.dtype,
    shape: t.shape.map((d, i) => bind(d, `dimension ${i} of ${what} ${typeToString(t)}`, fail)),
  });

  return {
    name: PASS,
    run(graph: Graph): Graph {
      const names = new Map([...graph.inputs, ...graph.params].map((v) => [v.value, v.name]));
      const editor = new GraphEditor(graph, PASS, (t, value) =>
        bindType(t, `input ${names.get(value)}`, (reason) => {
          throw new CompileError(PASS, `input ${names.get(value)}`, reason, '', undefined);
        }),
      );
      for (const node of graph.nodes) {
        const inputs = editor.inputsOf(node);
        const operands = () => operandsToString(node.op, inputs.map((i) => (i === null ? undefined : editor.type(i))));
        const fail = (reason: string): never => {
          throw new CompileError(PASS, node.op, reason, operands(), node.source);
        };
        const attrs = mapAttrDims(node.attrs, (d, where) => bind(d, `attribute ${where}`, fail));
        const expected = node.outputs.map((o, k) => bindType(graph.types.get(o)!, node.outputs.length > 1 ? `output ${k}` : 'the output', fail));
        let outputs: number[];
        try {
          outputs = editor.addUntyped(node.op as OpName, inputs, attrs, node.source);
        } catch (e) {
          if (e instanceof CompileError) throw e;
          return fail((e as Error).message);
        }
        outputs.forEach((o, k) => {
          const got = editor.type(o);
          if (!shapesEqual(got.shape, expected[k]!.shape)) {
            fail(`with ${Object.entries(bindings).map(([s, v]) => `${s}=${v}`).join(', ')} its shape rule gives ${shapeToString(got.shape)}, but the traced graph assumed ${shapeToString(expected[k]!.shape)}`);
          }
          editor.replace(node.outputs[k]!, o);
        });
      }
      return editor.finish();
    },
  };
}
