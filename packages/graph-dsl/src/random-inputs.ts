import { evaluateDim, symbolsOf } from './dim.ts';
import { type HostTensor, hostTensor, sizeOf } from './dtype.ts';
import { seededRandom } from './init.ts';
import type { Graph } from './ir.ts';

/** The symbolic dims of a graph's inputs, each once, in the order they first appear. */
export function inputSymbols(graph: Graph): string[] {
  return [...new Set(graph.inputs.flatMap((i) => graph.types.get(i.value)!.shape.flatMap(symbolsOf)))];
}

export interface SymbolSizes {
  /** The size of the batch symbol `B`. */
  readonly batch: number;
  /** The size of every other symbol (sequence lengths). */
  readonly other: number;
}

/** The sizes `tessera run --random-inputs` and the playground bind, so that both draw the same inputs. */
export const RUN_SIZES: SymbolSizes = { batch: 2, other: 5 };

/** A size for every symbolic input dim: the batch `B` takes `batch`, every other symbol `other`. */
export function symbolSizes(graph: Graph, { batch, other }: SymbolSizes = RUN_SIZES): Map<string, number> {
  return new Map(inputSymbols(graph).map((s) => [s, s === 'B' ? batch : other]));
}

/**
 * Inputs for a graph with every symbolic dim bound: floats ~ N(0, 1)-ish, int32 lengths in
 * [1, size of the last axis], and boolean masks that leave the first position of each row unmasked
 * (so that no softmax row is all masked). The CLI (`run --random-inputs`, bench) and the playground
 * draw the same inputs for the same seed.
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
