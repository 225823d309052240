import type { DType, HostTensor } from './dtype.ts';
import { type DimLike, toDim } from './dim.ts';
import { GraphBuilder } from './builder.ts';
import { ConfigError } from './errors.ts';
import { initialValues } from './init.ts';
import type { Graph, NamedValue } from './ir.ts';
import { Parameter, type Shape, Tensor } from './tensor.ts';

/**
 * A layer with parameters and children, as in PyTorch: parameters and submodules assigned to
 * fields get dotted names from the field names (`encoder.layers.0.self_attn.in_proj_weight`),
 * and arrays of modules number their items like `nn.ModuleList`.
 */
export abstract class Module {
  namedChildren(): [string, Module][] {
    return Object.entries(this).flatMap(([key, v]): [string, Module][] => {
      if (v instanceof Module) return [[key, v]];
      if (Array.isArray(v) && v.length > 0 && v.every((m) => m instanceof Module)) return v.map((m, i) => [`${key}.${i}`, m as Module]);
      return [];
    });
  }

  /** Parameters in registration order with their `state_dict` names. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const own = Object.entries(this).filter((e): e is [string, Parameter] => e[1] instanceof Parameter);
    return [
      ...own.map(([k, p]): [string, Parameter] => [prefix + k, p]),
      ...this.namedChildren().flatMap(([k, m]) => m.namedParameters(`${prefix}${k}.`)),
    ];
  }

  /**
   * The parameters' initial values by `state_dict` name, as PyTorch's `state_dict()` of a freshly
   * built module (a seed in place of torch's global generator): the same values as
   * `initialWeights(trace(this, ...), seed)`, without tracing. A parameter shared by two names is
   * given once, under its first name, as the traced graph holds it.
   */
  stateDict(seed = 0): Map<string, HostTensor> {
    const seen = new Set<Parameter>();
    const unique = this.namedParameters().filter(([, p]) => !seen.has(p) && seen.add(p));
    return initialValues(unique.map(([name, p]) => ({ name, shape: p.shape, init: p.init })), seed);
  }

  /** Every module below this one (itself first) with its dotted path. */
  namedModules(prefix = ''): [string, Module][] {
    return [[prefix, this], ...this.namedChildren().flatMap(([k, m]) => m.namedModules(prefix ? `${prefix}.${k}` : k))];
  }
}

export interface InputSpec {
  readonly dtype: DType;
  readonly shape: readonly DimLike[];
}

/** What a model's forward may return: one tensor, a tuple, or named outputs. */
export type ForwardResult = Tensor | readonly Tensor[] | { readonly [name: string]: Tensor };

export interface Traceable {
  forward(...inputs: Tensor<DType, number>[]): ForwardResult;
}

/**
 * Runs `model.forward` on symbolic inputs and records the graph. Parameters become graph
 * parameters named by their `state_dict` keys; each node remembers the user's source line
 * and the module it ran in.
 */
export function trace(model: Module & Traceable, inputs: Readonly<Record<string, InputSpec>>, outputNames?: readonly string[]): Graph {
  const graph = new GraphBuilder();
  const params = model.namedParameters();
  const seen = new Map<Parameter, string>();
  for (const [name, p] of params) {
    if (seen.has(p)) continue; // a shared parameter is one value, under its first name
    seen.set(p, name);
    p.bindTo({ graph, id: graph.param(name, { dtype: p.dtype, shape: p.shape }, p.init) });
  }
  const modules = model.namedModules();
  const originals = modules.map(([path, m]) => {
    const forward = (m as Partial<Traceable>).forward;
    if (typeof forward === 'function' && path) {
      Object.defineProperty(m, 'forward', { configurable: true, writable: true, enumerable: false, value: (...args: Tensor[]) => graph.withScope(path, () => forward.apply(m, args)) });
    }
    return m;
  });
  try {
    const args = Object.entries(inputs).map(([name, spec]) => {
      const shape = spec.shape.map(toDim);
      return new Tensor(spec.dtype, shape as Shape<number>, graph, graph.input(name, { dtype: spec.dtype, shape }));
    });
    const result = model.forward(...args);
    return graph.finish(nameOutputs(result, outputNames));
  } finally {
    for (const m of originals) delete (m as { forward?: unknown }).forward;
    for (const [, p] of params) p.bindTo(undefined);
  }
}

const describeValue = (v: unknown) => (v === null || v === undefined ? String(v) : Array.isArray(v) ? 'an array' : typeof v === 'object' ? `an object of ${v.constructor?.name ?? 'no class'}` : `a ${typeof v}`);

/** The graph's outputs from what forward returned; anything but tensors is the model's mistake, said plainly. */
function nameOutputs(result: ForwardResult, names?: readonly string[]): NamedValue[] {
  const returned = (what: string, v: unknown): never => {
    throw new ConfigError(`trace: forward returned ${what}${describeValue(v)}, not a Tensor: it must return a Tensor, an array of Tensors or an object of Tensors${v === undefined ? ' (is a return missing?)' : ''}`);
  };
  const id = (t: unknown, what: string) => (t instanceof Tensor ? t.ref().id : returned(what, t));
  if (result instanceof Tensor) return [{ name: names?.[0] ?? 'output', value: result.ref().id }];
  if (Array.isArray(result)) {
    if (names && names.length !== result.length) throw new ConfigError(`trace: forward returned ${result.length} tensors but ${names.length} output names were given (${names.join(', ')})`);
    return result.map((t: unknown, i) => ({ name: names?.[i] ?? `output_${i}`, value: id(t, `at [${i}] `) }));
  }
  if (typeof result !== 'object' || result === null) return returned('', result);
  return Object.entries(result as Record<string, unknown>).map(([name, t]) => ({ name, value: id(t, `at .${name} `) }));
}
