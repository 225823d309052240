/** What a catalog entry is, and the small pieces entries share. */
import { type DimLike, type InputSpec, Module, type Tensor, type Traceable } from '@tessera/graph-dsl';
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

/**
 * Adapts a module whose forward takes options to the positional inputs `trace` gives. It is
 * transparent: the inner module's parameters keep their own `state_dict` names.
 */
export class Adapter extends Module implements Traceable {
  readonly #inner: Module | undefined;
  readonly #call: Call;
  constructor(inner: Module | undefined, call: Call) {
    super();
    this.#inner = inner;
    this.#call = call;
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

