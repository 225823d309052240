/** Small torch.nn containers and layers the vision models need, with torch's state_dict naming. */
import { F, Module, nn, type Tensor } from '@tessera/graph-dsl';

/**
 * `nn.Sequential`: children named '0', '1', ... in order, so that their parameters come out as
 * `mlp.0.weight`, `features.1.3.norm1.bias`; forward runs them one after another.
 */
export class Sequential extends Module {
  readonly #layers: readonly Module[];
  constructor(...layers: Module[]) {
    super();
    this.#layers = layers;
    layers.forEach((m, i) => Object.defineProperty(this, String(i), { value: m, enumerable: true }));
  }
  get length(): number {
    return this.#layers.length;
  }
  at(i: number): Module {
    const m = this.#layers.at(i);
    if (!m) throw new Error(`Sequential has ${this.#layers.length} layers, no layer ${i}`);
    return m;
  }
  forward(x: Tensor<'float32', number>): Tensor<'float32', number> {
    return this.#layers.reduce((y, m) => (m as unknown as { forward(t: Tensor<'float32', number>): Tensor<'float32', number> }).forward(y), x);
  }
}

/**
 * `nn.Sequential(OrderedDict(...))`: children under names of one's choosing, in order
 * (torchvision's ViT encoder names its blocks `encoder_layer_0`, `encoder_layer_1`, ...).
 */
export class NamedSequential<M extends Module = Module> extends Module {
  readonly #layers: readonly M[];
  constructor(entries: readonly (readonly [string, M])[]) {
    super();
    this.#layers = entries.map(([, m]) => m);
    for (const [name, m] of entries) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`NamedSequential: '${name}' is not a layer name`);
      Object.defineProperty(this, name, { value: m, enumerable: true });
    }
  }
  get layers(): readonly M[] {
    return this.#layers;
  }
}

/** `nn.GELU()` (exact, with erf). */
export class GELU extends Module {
  forward<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
    return F.gelu(x);
  }
}

/** torchvision's `ops.misc.Permute`. */
export class Permute extends Module {
  constructor(readonly dims: readonly number[]) {
    super();
  }
  forward<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
    return x.permute(...this.dims);
  }
}

/** torchvision's MLPBlock (ViT) and MLP (Swin): Linear -> GELU -> Dropout -> Linear -> Dropout (keys mlp.0, mlp.3). */
export class MLPBlock extends Sequential {
  constructor(inDim: number, mlpDim: number, dropout: number) {
    super(new nn.Linear(inDim, mlpDim), new GELU(), new nn.Dropout(dropout), new nn.Linear(mlpDim, inDim), new nn.Dropout(dropout));
  }
}
