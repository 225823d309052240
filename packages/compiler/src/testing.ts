/** Helpers for the compiler's tests (not exported from the package). */
import { evaluateDim, type Graph, type HostTensor, hostTensor, printGraph, seededRandom, sizeOf } from '@tessera/graph-dsl';

/** The printed graph without source-line comments: what two graphs must share to be "the same". */
export function structure(graph: Graph): string {
  return printGraph(graph).replace(/ {2}# .*$/gm, '');
}

export function opsOf(graph: Graph): string[] {
  return graph.nodes.map((n) => n.op);
}

/** Random inputs for a graph's inputs at the given sizes (floats in [-2, 2), ints in [0, 4)). */
export function randomInputs(graph: Graph, bindings: Readonly<Record<string, number>>, seed = 1): Record<string, HostTensor> {
  const random = seededRandom(seed);
  const b = new Map(Object.entries(bindings));
  return Object.fromEntries(
    graph.inputs.map((input) => {
      const type = graph.types.get(input.value)!;
      const shape = type.shape.map((d) => evaluateDim(d, b));
      const data = Array.from({ length: sizeOf(shape) }, () => (type.dtype === 'float32' ? 4 * random() - 2 : type.dtype === 'int32' ? Math.floor(4 * random()) : random() < 0.5 ? 1 : 0));
      return [input.name, hostTensor(type.dtype, shape, data)];
    }),
  );
}

export function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i]! - b.data[i]!));
  return max;
}
