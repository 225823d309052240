/** What a catalog entry is, and the small pieces entries share. */
import { type DimLike, evaluateDim, type HostTensor, InputError, type InputSpec, Module, sizeOf, type Tensor, toDim, type Traceable } from '@tessera/graph-dsl';
import type { Choices, Config } from './config.ts';

/** A model ready to trace: the module, its named inputs in forward order, and its output names. */
export interface BuiltModel {
  readonly module: Module & Traceable;
  readonly inputs: Readonly<Record<string, InputSpec>>;
  readonly outputs: readonly string[];
}

export interface CatalogEntry {
  readonly name: string;
  readonly description: string;
  /** The PyTorch implementation it matches. */
  readonly reference: string;
  readonly defaults: Config;
  readonly choices: Choices;
  /** Overrides that make the model small ({} when the defaults are): the catalog-wide export test runs every entry with them. */
  readonly small: Config;
  build(config: Config): BuiltModel;
}

export const f32 = (...shape: DimLike[]): InputSpec => ({ dtype: 'float32', shape });
export const i32 = (...shape: DimLike[]): InputSpec => ({ dtype: 'int32', shape });
export const num = (c: Config, k: string) => c[k] as number;
export const dim = (c: Config, k: string) => c[k] as number | string;

/** Optional valid lengths: none, one per batch row (B,), or one per query (B, Q). */
export function validLensInput(c: Config, batch: DimLike, queries: DimLike): Record<string, InputSpec> {
  if (c.valid_lens === '1d') return { valid_lens: i32(batch) };
  if (c.valid_lens === '2d') return { valid_lens: i32(batch, queries) };
  return {};
}

export type Call = (...xs: Tensor<never, number>[]) => ReturnType<Traceable['forward']>;

/** The values an integer input may hold, from `min` to `max` (a number or a dim of the inputs, 'S'): ids of a vocabulary, lengths. */
export interface ValueRange {
  readonly min: number;
  readonly max: DimLike;
  /** What the values are, for the message: 'a token id of the source vocabulary'. */
  readonly what: string;
}

/**
 * Adapts a module whose forward takes options to the positional inputs `trace` gives. It is
 * transparent: the inner module's parameters keep their own `state_dict` names. `ranges` are the
 * values its integer inputs may hold, which no shape says (see `checkInputValues`).
 */
export class Adapter extends Module implements Traceable {
  readonly #inner: Module | undefined;
  readonly #call: Call;
  readonly #ranges: Readonly<Record<string, ValueRange>>;
  constructor(inner: Module | undefined, call: Call, ranges: Readonly<Record<string, ValueRange>> = {}) {
    super();
    this.#inner = inner;
    this.#call = call;
    this.#ranges = ranges;
  }
  /** The values its integer inputs may hold, by input name. */
  valueRanges(): Readonly<Record<string, ValueRange>> {
    return this.#ranges;
  }
  override namedParameters(prefix = '') {
    return this.#inner?.namedParameters(prefix) ?? [];
  }
  override namedModules(prefix = '') {
    return this.#inner?.namedModules(prefix) ?? [];
  }
  forward(...xs: Tensor[]) {
    return this.#call(...(xs as Tensor<never, number>[]));
  }
}


/**
 * Checks the values of a model's integer inputs against the ranges it declares, before a run: a
 * token id outside the vocabulary (PyTorch's nn.Embedding raises; a gather would fail or read
 * zeros) or a valid length outside [1, length] (0 would mask every key) is an InputError naming
 * the input, the value and where it is. `bindings` are the dims the inputs gave (from bindInputs).
 */
export function checkInputValues(module: Module, inputs: Readonly<Record<string, HostTensor>>, bindings: ReadonlyMap<string, number>, source?: string): void {
  if (!(module instanceof Adapter)) return;
  for (const [name, range] of Object.entries(module.valueRanges())) {
    const t = inputs[name];
    if (!t) continue;
    const max = evaluateDim(toDim(range.max), bindings);
    const at = t.data.findIndex((v) => v < range.min || v > max);
    if (at < 0) continue;
    const index = t.shape.map((_, axis) => Math.floor(at / sizeOf(t.shape.slice(axis + 1))) % t.shape[axis]!);
    const bound = typeof range.max === 'number' ? String(max) : `${String(range.max)} = ${max}`;
    throw new InputError(`${source ? `inputs ${source}: ` : ''}input '${name}' holds ${t.data[at]} at [${index.join(', ')}]; it must be ${range.what}, from ${range.min} to ${bound}`);
  }
}
