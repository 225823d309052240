import { type Bindings, type Dim, dimToString, evaluateDim, shapeToString, substitute, symbolsOf } from './dim.ts';
import { type DType, type HostTensor, sizeOf } from './dtype.ts';
import { type Graph, typeOf } from './ir.ts';

/** The inputs given to a run do not fit the graph: names the input, what it expects and what it got. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Weights do not fit the graph's parameters: lists every missing, unexpected and mis-shaped key. */
export class WeightsError extends Error {
  override readonly name = 'WeightsError';
  constructor(
    message: string,
    readonly missing: readonly string[] = [],
    readonly unexpected: readonly string[] = [],
    readonly mismatched: readonly string[] = [],
  ) {
    super(message);
  }
}

const SHOW_FIRST = 5;
const list = (items: readonly string[]) => items.slice(0, SHOW_FIRST).join(', ') + (items.length > SHOW_FIRST ? `, and ${items.length - SHOW_FIRST} more` : '');
const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

export interface CheckWeightsOptions {
  /** Where the weights came from (a file), for the message. */
  readonly source?: string;
  /** When false, keys may be missing or unexpected (a partial load); shapes are still checked. */
  readonly strict?: boolean;
}

/**
 * Checks a state_dict-style mapping against the graph's parameters and lists, in one
 * WeightsError, every missing, unexpected and mis-shaped key with both shapes.
 */
export function checkWeights(graph: Graph, given: ReadonlyMap<string, HostTensor>, options: CheckWeightsOptions = {}): void {
  const none = new Map<string, number>();
  const expected = new Map(graph.params.map((p) => [p.name, typeOf(graph, p.value).shape.map((d) => evaluateDim(d, none))]));
  const strict = options.strict ?? true;
  const missing = strict ? [...expected.keys()].filter((k) => !given.has(k)) : [];
  const unexpected = strict ? [...given.keys()].filter((k) => !expected.has(k)) : [];
  const mismatched: string[] = [];
  for (const [name, t] of given) {
    const shape = expected.get(name);
    if (!shape) continue;
    const problems: string[] = [];
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) problems.push(`expected ${shapeText(shape)}, got ${shapeText(t.shape)}`);
    if (t.dtype !== 'float32') problems.push(`expected float32, got ${t.dtype}`);
    if (t.data.length !== sizeOf(t.shape)) problems.push(`shape ${shapeText(t.shape)} but ${t.data.length} values`);
    if (problems.length) mismatched.push(`${name}: ${problems.join('; ')}`);
  }
  if (!missing.length && !unexpected.length && !mismatched.length) return;
  const parts: string[] = [];
  if (missing.length) parts.push(`${missing.length} missing (${list(missing.map((k) => `${k} ${shapeText(expected.get(k)!)}`))})`);
  if (unexpected.length) parts.push(`${unexpected.length} unexpected (${list(unexpected.map((k) => `${k} ${shapeText(given.get(k)!.shape)}`))})`);
  if (mismatched.length) parts.push(`${mismatched.length} with the wrong shape or dtype (${list(mismatched)})`);
  const from = options.source ? `the weights in ${options.source}` : 'the weights';
  throw new WeightsError(`${from} do not fit the model's ${expected.size} parameters: ${parts.join('; ')}.`, missing, unexpected, mismatched.map((m) => m.split(':')[0]!));
}

export interface GivenInput {
  readonly dtype: string;
  readonly shape: readonly number[];
}

/** int32 inputs also take bool data (a mask given as ids); every other dtype must match. */
export function acceptsDtype(expected: DType, given: string): boolean {
  return given === expected || (expected === 'int32' && given === 'bool');
}

const show = (t: GivenInput) => `${t.dtype} [${t.shape.join(', ')}]`;

/**
 * Checks the given inputs against the graph's and returns the symbol values they imply. A dim
 * written as a plain symbol ('B') binds it; a dim with one unknown symbol in a linear
 * expression ('T+1', 'H/2') is solved for it; every dim must then agree with the tensor given.
 */
export function bindInputs(graph: Graph, given: Readonly<Record<string, GivenInput>>, source?: string): Map<string, number> {
  const fail = (message: string): never => {
    throw new InputError(source ? `inputs ${source}: ${message}` : message);
  };
  const expected = new Map(graph.inputs.map((i) => [i.name, typeOf(graph, i.value)]));
  const signature = () => graph.inputs.map((i) => `${i.name}: ${typeOf(graph, i.value).dtype} ${shapeToString(typeOf(graph, i.value).shape)}`).join(', ');
  for (const name of Object.keys(given)) {
    if (!expected.has(name)) fail(`unknown input '${name}' (${show(given[name]!)}): the graph's inputs are ${signature()}.`);
  }
  for (const [name, type] of expected) {
    if (!(name in given)) fail(`missing input '${name}': it must be ${type.dtype} ${shapeToString(type.shape)}; the inputs given were ${Object.keys(given).map((n) => `'${n}'`).join(', ') || 'none'}.`);
    const t = given[name]!;
    if (!acceptsDtype(type.dtype, t.dtype)) {
      fail(`input '${name}' must be ${type.dtype} ${shapeToString(type.shape)}, but a ${show(t)} tensor was given: wrong dtype${type.dtype === 'int32' ? ' (int32 inputs take int32 or bool)' : ''}.`);
    }
    if (t.shape.length !== type.shape.length) {
      fail(`input '${name}' must be ${type.dtype} ${shapeToString(type.shape)} (rank ${type.shape.length}), but a ${show(t)} tensor (rank ${t.shape.length}) was given.`);
    }
  }

  const bindings = new Map<string, number>();
  const from = new Map<string, string>();
  const entries = graph.inputs.flatMap((i) => typeOf(graph, i.value).shape.map((dim, axis) => ({ name: i.name, axis, dim, size: given[i.name]!.shape[axis]! })));
  let progress = true;
  while (progress) {
    progress = false;
    for (const { name, axis, dim, size } of entries) {
      const solved = solve(substitute(dim, bindings), size);
      if (!solved) continue;
      bindings.set(solved.symbol, solved.value);
      from.set(solved.symbol, `input '${name}' dim ${axis}`);
      progress = true;
    }
  }

  const bindingText = (syms: string[]) => syms.map((s) => `${s}=${bindings.get(s)} from ${from.get(s)}`).join(', ');
  for (const input of graph.inputs) {
    const type = typeOf(graph, input.value);
    const t = given[input.name]!;
    type.shape.forEach((dim, axis) => {
      let want = 0;
      try {
        want = evaluateDim(dim, bindings);
      } catch (e) {
        fail(`input '${input.name}' must be ${type.dtype} ${shapeToString(type.shape)}, but a ${show(t)} tensor was given: dimension ${axis} (${dimToString(dim)}) cannot be ${t.shape[axis]} (${(e as Error).message}).`);
      }
      if (want !== t.shape[axis]) {
        const concrete = type.shape.map((d) => tryEvaluate(d, bindings));
        fail(`input '${input.name}' must be ${type.dtype} ${shapeToString(type.shape)}${type.shape.some((d) => typeof d !== 'number') ? `, which is [${concrete.join(', ')}] with ${bindingText([...new Set(type.shape.flatMap(symbolsOf))])}` : ''}, but a ${show(t)} tensor was given: dimension ${axis} is ${t.shape[axis]}, expected ${want}.`);
      }
    });
  }
  return bindings;
}

function tryEvaluate(d: Dim, bindings: Bindings): string {
  try {
    return String(evaluateDim(d, bindings));
  } catch {
    return dimToString(d);
  }
}

/** Solves coef*S + c = size for the one symbol S of a linear dim; undefined when the dim is not of that form. */
function solve(dim: Dim, size: number): { symbol: string; value: number } | undefined {
  if (typeof dim === 'number') return undefined;
  const syms = symbolsOf(dim);
  if (syms.length !== 1) return undefined;
  let coef = 0;
  let constant = 0;
  for (const t of dim.terms) {
    if (t.symbols.length === 0) constant += t.coef;
    else if (t.symbols.length === 1) coef += t.coef;
    else return undefined;
  }
  const value = (size - constant) / coef;
  const rounded = Math.round(value);
  // A value that is not whole is left unbound; the check after reports the dim that cannot fit.
  if (Math.abs(value - rounded) > 1e-9 || rounded < 0) return undefined;
  return { symbol: syms[0]!, value: rounded };
}
