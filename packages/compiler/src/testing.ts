/** Helpers for the compiler's tests (not exported from the package). */
import { evaluateDim, type Graph, type HostTensor, hostTensor, initialWeights, printGraph, seededRandom, sizeOf } from '@tessera/graph-dsl';
import { compile } from './compile.ts';
import { fusionCounts } from './fusions/index.ts';
import { interpret } from './host/interpret.ts';

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

/**
 * A traced graph compiled with and without the fusions, both run on the host reference kernels on
 * the same random inputs and weights: what each fusion test asserts on.
 */
export function fusedAndUnfused(graph: Graph, bindings: Readonly<Record<string, number>>, options: { seed?: number; inputs?: Record<string, HostTensor> } = {}) {
  const fused = compile(graph, { explain: true });
  const unfused = compile(graph, { fuse: false });
  const inputs = options.inputs ?? randomInputs(graph, bindings, options.seed ?? 1);
  const weights = initialWeights(graph, options.seed ?? 1);
  const [a, b] = [interpret(fused.graph, inputs, { weights }), interpret(unfused.graph, inputs, { weights })];
  let diff = 0;
  for (const name of Object.keys(b)) {
    const [x, y] = [a[name]!.data, b[name]!.data];
    for (let i = 0; i < y.length; i++) if (!(Number.isNaN(x[i]!) && Number.isNaN(y[i]!))) diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
  }
  return { graph: fused.graph, counts: fusionCounts(fused.stats), notes: fused.stats.flatMap((s) => s.notes), diff };
}
