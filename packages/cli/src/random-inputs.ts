import { evaluateDim, type Graph, type HostTensor, hostTensor, seededRandom, sizeOf } from '@tessera/graph-dsl';

/**
 * Inputs for a graph with every symbolic dim bound: floats ~ N(0, 1)-ish, int32 lengths in
 * [1, size of the last axis], and boolean masks that leave the first position of each row unmasked
 * (so that no softmax row is all masked).
 */
export function randomInputs(graph: Graph, bindings: ReadonlyMap<string, number>, seed = 0): Record<string, HostTensor> {
  const random = seededRandom(seed);
  return Object.fromEntries(
    graph.inputs.map(({ name, value }) => {
      const type = graph.types.get(value)!;
      const shape = type.shape.map((d) => evaluateDim(d, bindings));
      const last = shape.at(-1) ?? 1;
      const values = Array.from({ length: sizeOf(shape) }, (_, i) => {
        if (type.dtype === 'float32') return (random() + random() + random() - 1.5) * 2;
        if (type.dtype === 'int32') return 1 + Math.floor(random() * last);
        return i % last !== 0 && random() < 0.3 ? 1 : 0;
      });
      return [name, hostTensor(type.dtype, shape, values)];
    }),
  );
}
