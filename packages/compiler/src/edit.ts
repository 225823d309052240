import {
  type AttrsOf,
  type Graph,
  type HostTensor,
  type NamedValue,
  type Node,
  type OpName,
  opDef,
  type Param,
  ShapeError,
  SymDim,
  type Dim,
  type SourceRef,
  type TensorType,
  typeToString,
} from '@tessera/graph-dsl';
import { CompileError } from './errors.ts';

/** The operand types of a node as a readable list: `x: f32[B, 8], w: f32[8, 8]`. */
export function operandsToString(op: OpName, types: readonly (TensorType | undefined)[]): string {
  const specs = opDef(op).inputs;
  return types.map((t, i) => `${specs[Math.min(i, specs.length - 1)]?.name ?? i}: ${t ? typeToString(t) : '_'}`).join(', ');
}

/**
 * Builds a new graph from an old one; every pass uses it, so a pass is a loop over the old nodes
 * that says, for each, "copy it", "replace its outputs by these values" or "emit these nodes".
 *
 * Old value ids map to new ones. Graph inputs and parameters keep their ids (they are the
 * graph's interface); node outputs get fresh ids in emission order, so a pass's result is
 * numbered like a freshly traced graph and dumps stay compact. Nodes must be emitted in
 * topological order, which a forward walk over the old graph gives for free.
 */
export class GraphEditor {
  private readonly types = new Map<number, TensorType>();
  private readonly nodes: Node[] = [];
  private readonly mapping = new Map<number, number>();
  private next: number;

  constructor(
    readonly old: Graph,
    /** Names the pass in errors. */
    readonly pass: string,
    /** Changes the types of inputs and parameters (bind-shapes substitutes symbols in them). */
    retype: (type: TensorType, value: number) => TensorType = (t) => t,
  ) {
    let max = -1;
    for (const v of [...old.inputs, ...old.params]) {
      this.types.set(v.value, retype(old.types.get(v.value)!, v.value));
      this.mapping.set(v.value, v.value);
      max = Math.max(max, v.value);
    }
    this.next = max + 1;
  }

  /** The new id of an old value; the value's producer must have been handled already. */
  value(old: number): number {
    const v = this.mapping.get(old);
    if (v === undefined) throw new Error(`${this.pass}: value %${old} is used before it is defined in the new graph`);
    return v;
  }

  has(old: number): boolean {
    return this.mapping.has(old);
  }

  inputsOf(node: Node): (number | null)[] {
    return node.inputs.map((i) => (i === null ? null : this.value(i)));
  }

  /** The type of a value of the new graph. */
  type(value: number): TensorType {
    const t = this.types.get(value);
    if (!t) throw new Error(`${this.pass}: new value %${value} has no type`);
    return t;
  }

  /** From now on, uses of the old value read `value` (a value of the new graph). */
  replace(old: number, value: number): void {
    this.mapping.set(old, value);
  }

  /** Copies an old node unchanged but for its (remapped) inputs; returns its new outputs. */
  copy(node: Node): number[] {
    const outputs = node.outputs.map((o) => this.fresh(this.old.types.get(o)!));
    this.nodes.push({ ...node, inputs: this.inputsOf(node), outputs } as Node);
    node.outputs.forEach((o, i) => this.replace(o, outputs[i]!));
    return outputs;
  }

  /** Emits a node over new values; its output types come from the op's shape rule. */
  add<N extends OpName>(op: N, inputs: readonly (number | null)[], attrs: AttrsOf<N>, source?: SourceRef): number[] {
    return this.addUntyped(op, inputs, attrs, source);
  }

  /** `add` for code that handles ops generically (the attrs type is the op's, unchecked here). */
  addUntyped(op: OpName, inputs: readonly (number | null)[], attrs: object, source?: SourceRef): number[] {
    const types = inputs.map((i) => (i === null ? undefined : this.type(i)));
    let outTypes: TensorType[];
    try {
      outTypes = opDef(op).infer(types, attrs);
    } catch (e) {
      if (e instanceof ShapeError) throw new CompileError(this.pass, op, e.message, operandsToString(op, types), source);
      throw e;
    }
    const outputs = outTypes.map((t) => this.fresh(t));
    this.nodes.push({ op, attrs, inputs: [...inputs], outputs, ...(source ? { source } : {}) } as Node);
    return outputs;
  }

  /** Emits a Constant node holding `value`. */
  constant(value: HostTensor, source?: SourceRef): number {
    return this.add('Constant', [], { value }, source)[0]!;
  }

  private fresh(type: TensorType): number {
    const id = this.next++;
    this.types.set(id, type);
    return id;
  }

  finish(): Graph {
    const mapNamed = (v: NamedValue): NamedValue => ({ name: v.name, value: this.value(v.value) });
    return {
      types: this.types,
      nodes: this.nodes,
      inputs: this.old.inputs.map((v) => ({ ...v })),
      params: this.old.params.map((p): Param => ({ ...p })),
      outputs: this.old.outputs.map(mapNamed),
    };
  }
}

/** How many times each value is read: by node inputs, and once more for each graph output it is. */
export function useCounts(graph: Graph): Map<number, number> {
  const uses = new Map<number, number>();
  const use = (v: number) => uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const node of graph.nodes) for (const i of node.inputs) if (i !== null) use(i);
  for (const o of graph.outputs) use(o.value);
  return uses;
}

/** The node that produces each value (inputs and parameters have none). */
export function producers(graph: Graph): Map<number, Node> {
  const map = new Map<number, Node>();
  for (const node of graph.nodes) for (const o of node.outputs) map.set(o, node);
  return map;
}

/** Applies `f` to every dim held in an attribute value (a dim, or a list of them); other values stay. */
export function mapAttrDims(attrs: object, f: (d: Dim, where: string) => Dim): object {
  const walk = (v: unknown, where: string): unknown => {
    if (v instanceof SymDim) return f(v, where);
    if (Array.isArray(v)) return v.some((x) => x instanceof SymDim || Array.isArray(x)) ? v.map((x, i) => walk(x, `${where}[${i}]`)) : v;
    return v;
  };
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, walk(v, k)]));
}
