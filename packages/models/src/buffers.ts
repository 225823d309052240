/**
 * Buffers: state a module keeps in its `state_dict` that is not learned (PyTorch's
 * `register_buffer`), such as Swin's `relative_position_index`. The model computes its own copy
 * from its config (it becomes a constant of the graph); a loaded copy is checked against it and
 * taken out, so that a torchvision state_dict loads as is.
 */
import { type HostTensor, Module, WeightsError } from '@tessera/graph-dsl';

export class Buffer {
  constructor(readonly value: HostTensor) {}
}

/** Every buffer below `module`, with its state_dict name. */
export function namedBuffers(module: Module): [string, HostTensor][] {
  return module.namedModules().flatMap(([path, m]) =>
    Object.entries(m)
      .filter((e): e is [string, Buffer] => e[1] instanceof Buffer)
      .map(([k, b]): [string, HostTensor] => [path ? `${path}.${k}` : k, b.value]),
  );
}

const sameValues = (a: HostTensor, b: HostTensor) => a.shape.join() === b.shape.join() && a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]);

/**
 * The parameters of a state_dict: the module's buffers found in it are compared with the ones
 * the module computed (same shape, same values, whatever the integer dtype) and removed. A
 * buffer that differs is a WeightsError naming it: the weights come from another config.
 */
export function takeBuffers(module: Module, stateDict: ReadonlyMap<string, HostTensor>, source?: string): Map<string, HostTensor> {
  const out = new Map(stateDict);
  const wrong: string[] = [];
  for (const [name, expected] of namedBuffers(module)) {
    const given = out.get(name);
    if (!given) continue;
    out.delete(name);
    if (!sameValues(given, expected)) wrong.push(`${name}: expected [${expected.shape.join(', ')}] as the model computes it, got [${given.shape.join(', ')}]${given.shape.join() === expected.shape.join() ? ' with other values' : ''}`);
  }
  if (wrong.length) {
    const from = source ? `the weights in ${source}` : 'the weights';
    throw new WeightsError(`${from} do not fit the model: ${wrong.length} buffer(s) differ (${wrong.slice(0, 5).join('; ')}); they come from another configuration`, [], [], wrong.map((w) => w.split(':')[0]!));
  }
  return out;
}
