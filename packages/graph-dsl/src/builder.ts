import type { DType } from './dtype.ts';
import { OpError } from './errors.ts';
import type { Graph, Init, NamedValue, Node, Param, SourceRef } from './ir.ts';
import { typeToString } from './ir.ts';
import { type AttrsOf, type OpName, opDef, ShapeError, type TensorType } from './ops/index.ts';
import { callerLocation } from './source.ts';

/**
 * Records a graph while a model's forward runs. Each `apply` checks its operands at once with
 * the op's shape rule, so a mistake is reported at the user's line, not later in the compiler.
 */
export class GraphBuilder {
  private readonly types = new Map<number, TensorType>();
  private readonly nodes: Node[] = [];
  private readonly inputs: NamedValue[] = [];
  private readonly params: Param[] = [];
  private readonly scopes: string[] = [];

  private newValue(type: TensorType): number {
    const id = this.types.size;
    this.types.set(id, type);
    return id;
  }

  typeOf(id: number): TensorType {
    return this.types.get(id)!;
  }

  input(name: string, type: TensorType): number {
    const id = this.newValue(type);
    this.inputs.push({ name, value: id });
    return id;
  }

  param(name: string, type: TensorType, init: Init): number {
    const id = this.newValue(type);
    this.params.push({ name, value: id, init });
    return id;
  }

  /** Runs `body` inside the module at dotted `path`, so that the nodes it records carry it. */
  withScope<T>(path: string, body: () => T): T {
    this.scopes.push(path);
    try {
      return body();
    } finally {
      this.scopes.pop();
    }
  }

  private source(): SourceRef | undefined {
    const at = callerLocation();
    return at && { ...at, scope: this.scopes.at(-1) ?? '' };
  }

  /** An op (or a DSL method) refusing its operands, at the user's line in the current module. */
  opError(op: string, reason: string, operands: string): OpError {
    return new OpError(op, reason, operands, this.source());
  }

  apply<N extends OpName>(op: N, inputs: readonly (number | null)[], attrs: AttrsOf<N>): number[] {
    const def = opDef(op);
    const types = inputs.map((i) => (i === null ? undefined : this.typeOf(i)));
    const operands = () => types.map((t, i) => `${def.inputs[Math.min(i, def.inputs.length - 1)]?.name ?? i}: ${t ? typeToString(t) : '_'}`).join(', ') || '(none)';
    const fail = (reason: string): never => {
      throw this.opError(op, reason, operands());
    };
    types.forEach((t, i) => {
      const spec = def.inputs[Math.min(i, def.inputs.length - 1)];
      if (!spec) return fail(`takes ${def.inputs.length} inputs, got ${inputs.length}`);
      if (!t && !spec.optional) return fail(`input '${spec.name}' is required`);
      if (t && spec.dtypes && !spec.dtypes.includes(t.dtype as DType)) fail(`input '${spec.name}' must be ${spec.dtypes.join(' or ')}, got ${t.dtype}`);
    });
    if (!def.variadic && inputs.length > def.inputs.length) fail(`takes ${def.inputs.length} inputs, got ${inputs.length}`);
    let outTypes: TensorType[];
    try {
      outTypes = def.infer(types, attrs);
    } catch (e) {
      if (e instanceof ShapeError) return fail(e.message);
      throw e;
    }
    const outputs = outTypes.map((t) => this.newValue(t));
    const source = this.source();
    this.nodes.push({ op, attrs, inputs, outputs, ...(source ? { source } : {}) } as Node);
    return outputs;
  }

  finish(outputs: readonly NamedValue[]): Graph {
    return { types: new Map(this.types), nodes: [...this.nodes], inputs: [...this.inputs], params: [...this.params], outputs: [...outputs] };
  }
}
