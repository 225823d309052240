/** Test support for nn: the state_dict keys torch 1.13 gives (fixtures/torch_nn_keys.json) and the output shapes of a traced call. */
import { readFileSync } from 'node:fs';
import { type ForwardResult, type InputSpec, Module, trace } from '../module.ts';
import type { Tensor } from '../tensor.ts';

type Keys = Record<string, number[]>;
const FIXTURE = JSON.parse(readFileSync(new URL('../../fixtures/torch_nn_keys.json', import.meta.url), 'utf8')) as { cases: Record<string, Keys> };

/** torch's state_dict of the module built as `name` says: each key with its shape, in torch's order. */
export function torchKeys(name: string): [string, number[]][] {
  const keys = FIXTURE.cases[name];
  if (!keys) throw new Error(`no case '${name}' in torch_nn_keys.json (run fixtures/torch_nn_keys.py)`);
  return Object.entries(keys);
}

/** Our module's parameters the same way, to compare with torchKeys. */
export function keysOf(module: Module): [string, number[]][] {
  return module.namedParameters().map(([k, p]) => [k, p.shape.map(Number)]);
}

class Call extends Module {
  constructor(readonly inner: Module, private readonly call: (...xs: Tensor[]) => ForwardResult) {
    super();
  }
  forward(...xs: Tensor[]): ForwardResult {
    return this.call(...xs);
  }
}

/** Traces `call` on symbolic inputs and gives each output's shape as text, by output name. */
export function outputShapes(module: Module, inputs: Readonly<Record<string, InputSpec>>, call: (...xs: Tensor[]) => ForwardResult): Record<string, string[]> {
  const graph = trace(new Call(module, call), inputs);
  return Object.fromEntries(graph.outputs.map((o) => [o.name, graph.types.get(o.value)!.shape.map(String)]));
}
