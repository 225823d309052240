import { type Dim, dimToString, evaluateDim, shapeToString, substitute } from './dim.ts';
import type { HostTensor } from './dtype.ts';
import type { Graph } from './ir.ts';

/** A weights or inputs mapping that does not fit the graph: names every problem found. */
export class BindingError extends Error {
  constructor(readonly kind: 'weights' | 'inputs', readonly source: string, readonly problems: readonly string[]) {
    const shown = problems.slice(0, 8);
    super(`${kind} ${source} do not fit the model: ${shown.join('; ')}${problems.length > shown.length ? `; and ${problems.length - shown.length} more` : ''}`);
    this.name = kind === 'weights' ? 'WeightsError' : 'InputError';
  }
}

/** Checks a state_dict-style mapping against the graph's parameters: missing, unexpected and mis-shaped keys. */
export function checkWeights(graph: Graph, weights: ReadonlyMap<string, HostTensor>, source = '(given)'): void {
  const problems: string[] = [];
  const expected = new Map(graph.params.map((p) => [p.name, graph.types.get(p.value)!]));
  const missing = [...expected.keys()].filter((k) => !weights.has(k));
  const unexpected = [...weights.keys()].filter((k) => !expected.has(k));
  if (missing.length) problems.push(`missing key${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).map((k) => `'${k}' ${shapeToString(expected.get(k)!.shape)}`).join(', ')}${missing.length > 5 ? ` (+${missing.length - 5} more)` : ''}`);
  if (unexpected.length) problems.push(`unexpected key${unexpected.length > 1 ? 's' : ''} ${unexpected.slice(0, 5).map((k) => `'${k}' [${weights.get(k)!.shape.join(', ')}]`).join(', ')}${unexpected.length > 5 ? ` (+${unexpected.length - 5} more)` : ''}`);
  for (const [name, type] of expected) {
    const w = weights.get(name);
    if (!w) continue;
    const want = type.shape.map((d) => dimToString(d)).join(', ');
    if (w.shape.join(', ') !== want) problems.push(`'${name}' has shape [${w.shape.join(', ')}], the model expects [${want}]`);
    else if (w.dtype !== type.dtype) problems.push(`'${name}' is ${w.dtype}, the model expects ${type.dtype}`);
  }
  if (problems.length) throw new BindingError('weights', source, problems);
}

/**
 * Checks named inputs against the graph's inputs and returns the values of the symbolic dims
 * they fix ('B' = 3): a wrong name, dtype, rank or size, or two inputs that disagree on a symbol.
 */
export function bindInputs(graph: Graph, inputs: Readonly<Record<string, Pick<HostTensor, 'dtype' | 'shape'>>>, source = '(given)'): Map<string, number> {
  const problems: string[] = [];
  const bindings = new Map<string, number>();
  const describe = (shape: readonly Dim[]) => shapeToString(shape);
  const names = new Set(graph.inputs.map((i) => i.name));
  for (const name of Object.keys(inputs)) if (!names.has(name)) problems.push(`unexpected input '${name}' (the model takes ${[...names].join(', ')})`);
  for (const { name, value } of graph.inputs) {
    const type = graph.types.get(value)!;
    const given = inputs[name];
    if (!given) {
      problems.push(`missing input '${name}' ${type.dtype}${describe(type.shape)}`);
      continue;
    }
    const fail = (why: string) => problems.push(`input '${name}' ${why}: expected ${type.dtype}${describe(type.shape)}, got ${given.dtype}[${given.shape.join(', ')}]`);
    if (given.dtype !== type.dtype) {
      fail('has the wrong dtype');
      continue;
    }
    if (given.shape.length !== type.shape.length) {
      fail('has the wrong rank');
      continue;
    }
    type.shape.forEach((d, axis) => {
      const actual = given.shape[axis]!;
      const partial = substitute(d, bindings);
      if (typeof partial === 'number') {
        if (partial !== actual) fail(`has size ${actual} on axis ${axis}${typeof d === 'number' ? '' : ` where ${dimToString(d)} = ${partial}`}`);
        return;
      }
      // A lone symbol (possibly scaled) is fixed by this size; richer expressions are checked once bound.
      const [term] = partial.terms;
      if (partial.terms.length === 1 && term!.symbols.length === 1) {
        const value = actual / term!.coef;
        if (Number.isInteger(value)) bindings.set(term!.symbols[0]!, value);
        else fail(`has size ${actual} on axis ${axis}, which is not a whole multiple for ${dimToString(d)}`);
      }
    });
  }
  for (const { name, value } of graph.inputs) {
    const given = inputs[name];
    if (!given) continue;
    graph.types.get(value)!.shape.forEach((d, axis) => {
      try {
        const v = evaluateDim(d, bindings);
        if (v !== given.shape[axis] && !problems.some((p) => p.startsWith(`input '${name}'`))) problems.push(`input '${name}' has size ${given.shape[axis]} on axis ${axis} where ${dimToString(d)} = ${v}`);
      } catch {
        /* symbols not fixed by any input stay free; reported where they are needed */
      }
    });
  }
  if (problems.length) throw new BindingError('inputs', source, problems);
  return bindings;
}
