import { type HostTensor, hostTensor, sizeOf } from './dtype.ts';
import { type Dim, evaluateDim } from './dim.ts';
import type { Graph, Init } from './ir.ts';

/** A small seeded generator (mulberry32): the same seed gives the same weights on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function materializeInit(init: Init, shape: readonly number[], random: () => number): HostTensor<'float32'> {
  if (init.kind === 'data') return init.tensor as HostTensor<'float32'>;
  const t = hostTensor('float32', shape);
  const data = t.data;
  for (let i = 0; i < data.length; i++) {
    if (init.kind === 'constant') data[i] = init.value;
    else if (init.kind === 'uniform') data[i] = init.low + (init.high - init.low) * random();
    else {
      let v = normal(random);
      while (init.truncate !== undefined && Math.abs(v) > init.truncate) v = normal(random);
      data[i] = init.mean + init.std * v;
    }
  }
  return t;
}

/** A parameter to initialize: its name, shape and initializer. */
export interface ParamInit {
  readonly name: string;
  readonly shape: readonly Dim[];
  readonly init: Init;
}

/** Initial values of parameters, in order, by name, from one seeded stream: the same seed and order give the same values. */
export function initialValues(params: readonly ParamInit[], seed = 0): Map<string, HostTensor> {
  const random = seededRandom(seed);
  const none = new Map<string, number>();
  return new Map(
    params.map((p) => {
      const shape = p.shape.map((d) => evaluateDim(d, none));
      const t = materializeInit(p.init, shape, random);
      if (sizeOf(t.shape) !== sizeOf(shape)) throw new Error(`parameter ${p.name}: initial data has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
      return [p.name, t];
    }),
  );
}

/** Initial values of every parameter of a graph, by name, from its initializers and one seed. */
export function initialWeights(graph: Graph, seed = 0): Map<string, HostTensor> {
  return initialValues(graph.params.map((p) => ({ name: p.name, shape: graph.types.get(p.value)!.shape, init: p.init })), seed);
}
