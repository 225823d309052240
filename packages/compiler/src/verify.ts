import { dimsEqual, type Graph, opDef, type TensorType, typeToString } from '@tessera/graph-dsl';

function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => dimsEqual(d, b.shape[i]!));
}

/**
 * Checks the IR's invariants: every value is defined once before it is used, every value has a
 * type, and every node's recorded output types are what its op's shape rule gives. A pass that
 * breaks one is a compiler bug; the error names the pass and the node.
 */
export function verifyGraph(graph: Graph, after = 'input'): void {
  const fail = (what: string): never => {
    throw new Error(`invalid graph after ${after}: ${what}`);
  };
  const defined = new Set<number>();
  const define = (v: number, what: string) => {
    if (defined.has(v)) fail(`value %${v} (${what}) is defined twice`);
    if (!graph.types.has(v)) fail(`value %${v} (${what}) has no type`);
    defined.add(v);
  };
  for (const v of graph.inputs) define(v.value, `input ${v.name}`);
  for (const p of graph.params) define(p.value, `parameter ${p.name}`);
  graph.nodes.forEach((node, n) => {
    for (const i of node.inputs) if (i !== null && !defined.has(i)) fail(`node ${n} (${node.op}) reads %${i} before it is defined`);
    const inTypes = node.inputs.map((i) => (i === null ? undefined : graph.types.get(i)));
    let inferred: TensorType[];
    try {
      inferred = opDef(node.op).infer(inTypes, node.attrs);
    } catch (e) {
      return fail(`node ${n} (${node.op}) no longer passes its shape rule: ${(e as Error).message}`);
    }
    if (inferred.length !== node.outputs.length) fail(`node ${n} (${node.op}) has ${node.outputs.length} outputs, its op gives ${inferred.length}`);
    node.outputs.forEach((o, k) => {
      define(o, `output of node ${n} (${node.op})`);
      const t = graph.types.get(o)!;
      if (!sameType(t, inferred[k]!)) fail(`node ${n} (${node.op}) output %${o} is typed ${typeToString(t)} but its shape rule gives ${typeToString(inferred[k]!)}`);
    });
  });
  for (const o of graph.outputs) if (!defined.has(o.value)) fail(`graph output ${o.name} (%${o.value}) is not defined`);
}
