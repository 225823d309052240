import { type Dim, dimToString, evaluateDim, type Graph, type HostTensor, initialWeights, isSymbolic, type OpName, substitute, typeToString } from '@tessera/graph-dsl';
import { mapAttrDims } from '../edit.ts';
import { evaluateHost } from './index.ts';

export interface InterpretOptions {
  /** Parameter values by name; parameters not given start from their initializers with `seed`. */
  readonly weights?: ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>;
  readonly seed?: number;
  /** Check each value's concrete shape and dtype against its type in the graph (on by default). */
  readonly checkTypes?: boolean;
}

/**
 * Runs a whole graph on the host with the reference kernels, for inference (Dropout is the
 * identity). Returns the outputs by name. Symbols are bound from the input shapes, and each
 * value's shape is checked against its type, so a wrong shape rule shows up here too.
 */
export function interpret(graph: Graph, inputs: Readonly<Record<string, HostTensor>>, options: InterpretOptions = {}): Record<string, HostTensor> {
  const given = options.weights instanceof Map ? options.weights : new Map(Object.entries(options.weights ?? {}));
  const missing = graph.params.filter((p) => !given.has(p.name));
  const initial = missing.length ? initialWeights({ ...graph, params: missing }, options.seed ?? 0) : new Map<string, HostTensor>();
  const values = new Map<number, HostTensor>();
  const bindings = new Map<string, number>();
  const check = options.checkTypes ?? true;

  const bind = (value: number, t: HostTensor, what: string) => {
    const type = graph.types.get(value)!;
    if (check) {
      if (t.dtype !== type.dtype || t.shape.length !== type.shape.length) throw new Error(`interpret: ${what} is ${t.dtype}[${t.shape.join(', ')}], its type is ${typeToString(type)}`);
      type.shape.forEach((d: Dim, i) => {
        const v = substitute(d, bindings);
        // a plain symbol not bound yet takes its value from here
        if (isSymbolic(v) && v.terms.length === 1 && v.terms[0]!.coef === 1 && v.terms[0]!.symbols.length === 1) bindings.set(v.terms[0]!.symbols[0]!, t.shape[i]!);
        else if (!isSymbolic(v) && evaluateDim(v, bindings) !== t.shape[i]) {
          throw new Error(`interpret: ${what} has shape [${t.shape.join(', ')}], its type is ${typeToString(type)} (dim ${i}: ${dimToString(d)} = ${String(v)})`);
        }
      });
    }
    values.set(value, t);
  };

  for (const input of graph.inputs) {
    const t = inputs[input.name];
    if (!t) throw new Error(`interpret: no value for input '${input.name}'`);
    bind(input.value, t, `input ${input.name}`);
  }
  for (const p of graph.params) bind(p.value, given.get(p.name) ?? initial.get(p.name)!, `parameter ${p.name}`);
  for (const node of graph.nodes) {
    const args = node.inputs.map((i) => (i === null ? null : values.get(i)!));
    const outs = node.op === 'Dropout' ? [args[0]!] : evaluateHost(node.op as OpName, args, mapAttrDims(node.attrs, (d) => evaluateDim(d, bindings)) as never);
    node.outputs.forEach((o, i) => bind(o, outs[i]!, `output of ${node.op} (%${o})`));
  }
  return Object.fromEntries(graph.outputs.map((o) => [o.name, values.get(o.value)!]));
}
