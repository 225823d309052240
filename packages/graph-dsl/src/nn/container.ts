/** `nn.ModuleList` and `nn.Sequential`: children under '0', '1', ... (or names of one's choosing), in order. */
import { ConfigError } from '../errors.ts';
import { Module } from '../module.ts';
import type { Tensor } from '../tensor.ts';

/** A module Sequential can chain: one float tensor in, one out. */
export interface Layer {
  forward(x: Tensor<'float32', number>): Tensor<'float32', number>;
}

/** Children as enumerable fields, so that `state_dict` names come out as `0.weight`, `fc1.bias`; the order is the entries'. */
abstract class Container<M extends Module> extends Module implements Iterable<M> {
  readonly #modules: readonly M[];
  constructor(kind: string, entries: readonly (readonly [string, M])[]) {
    super();
    this.#modules = entries.map(([, m]) => m);
    for (const [name, m] of entries) {
      // torch's add_module refuses the same names: a dot would break the dotted state_dict key
      if (name === '' || name.includes('.')) throw new ConfigError(`${kind}: '${name}' is not a module name (it must be non-empty and have no '.')`);
      if (name in this) throw new ConfigError(`${kind}: the name '${name}' is taken (given twice, or a property of ${kind})`);
      if (!(m instanceof Module)) throw new ConfigError(`${kind}: '${name}' is not a Module`);
      Object.defineProperty(this, name, { value: m, enumerable: true });
    }
  }
  get length(): number {
    return this.#modules.length;
  }
  /** The i-th module; negative counts from the end, as in Python. */
  at(i: number): M {
    const m = this.#modules.at(i);
    if (m === undefined) throw new ConfigError(`${this.constructor.name} has ${this.#modules.length} modules, no module ${i}`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.#modules[Symbol.iterator]();
  }
}

/** `nn.ModuleList([...])`: holds modules for `forward` to use as it likes; a plain array field numbers the same way. */
export class ModuleList<M extends Module = Module> extends Container<M> {
  constructor(modules: Iterable<M> = []) {
    super('ModuleList', [...modules].map((m, i) => [String(i), m] as const));
  }
}

/**
 * `nn.Sequential(a, b, c)` (children '0', '1', '2') or `nn.Sequential(new Map([['fc1', a], ...]))`
 * (torch's `OrderedDict` form, children under those names); `forward` runs them one after another.
 */
export class Sequential<M extends Module & Layer = Module & Layer> extends Container<M> {
  constructor(...modules: M[] | [ReadonlyMap<string, M>]) {
    const [first] = modules;
    super('Sequential', first instanceof Map ? [...(first as ReadonlyMap<string, M>)] : (modules as M[]).map((m, i) => [String(i), m] as const));
  }
  forward(x: Tensor<'float32', number>): Tensor<'float32', number> {
    let y = x;
    for (const m of this) y = m.forward(y);
    return y;
  }
}
