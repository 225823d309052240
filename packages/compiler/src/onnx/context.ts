/**
 * The state of one export: names of values and nodes, the ONNX nodes and initializers emitted
 * so far, a cache of constants, and the materialization of symbolic dims as runtime values.
 * Op mappings (ops/*.ts) see it through `LoweringContext`.
 */
import { type Dim, dimsEqual, dimToString, type Graph, type HostTensor, isSymbolic, type Node, shapesEqual, type TensorType, typeOf } from '@tessera/graph-dsl';
import { liveNodes } from './live-nodes.ts';
import { multiHeadAttentionWins, type OrtAttentionPolicy } from './ort-attention.ts';
import { type AttributeProto, type NodeProto, onnx, onnxDataType, type TensorProto } from './proto.ts';

/** An attribute value: integers become INT/INTS, `{ float }` FLOAT, strings STRING, `{ tensor }` TENSOR. */
export type AttrValue = number | readonly number[] | { readonly float: number } | { readonly floats: readonly number[] } | string | { readonly tensor: ConstTensor };
export type Attrs = Readonly<Record<string, AttrValue>>;

/** A constant to emit: an IR host tensor, or int64 data for shapes and indices. */
export type ConstTensor = HostTensor | { readonly dtype: 'int64'; readonly shape: readonly number[]; readonly data: BigInt64Array };

/**
 * What an exported model is for. `portable`: standard opset-17 ops only (the fused ops decomposed);
 * `onnx23`: opset 23 with the standard Attention op; `onnxruntime`: opset 17 plus ONNX Runtime's
 * `com.microsoft` fused ops where its CPU provider runs them faster (measured).
 */
export type OnnxTarget = 'portable' | 'onnx23' | 'onnxruntime';

export const ONNX_TARGETS: readonly OnnxTarget[] = ['portable', 'onnx23', 'onnxruntime'];

/** An ONNX tensor holding an IR value's elements in another shape (row-major order unchanged). */
export interface View {
  readonly name: string;
  readonly shape: readonly Dim[];
}

/** A value as an ONNX tensor without the bias a Linear adds to it, for a consumer that adds the bias itself (BiasGelu, SkipLayerNormalization). */
export interface Unbiased extends View {
  readonly bias: string;
}

/** What an op mapping may do: read its operands' names and types, emit ONNX nodes and constants. */
export interface LoweringContext {
  readonly opset: number;
  /** ONNX name of input `i` of the node ('' for an absent optional input). */
  input(node: Node, i: number): string;
  /** ONNX name the node's output `i` must be written to. */
  output(node: Node, i?: number): string;
  /** ONNX name of an IR value. */
  nameOf(value: number): string;
  type(value: number): TensorType;
  inputType(node: Node, i: number): TensorType;
  /** What the model is for: which fused forms an op mapping may emit (see OnnxTarget). */
  readonly target: OnnxTarget;
  /** For the onnxruntime target: whether an attention of this shape runs faster as MultiHeadAttention. */
  readonly ortAttention: OrtAttentionPolicy;
  /** For the onnxruntime target: whether com.microsoft Attention may take a self-attention's in-projection (false keeps it a matmul a later pass can see). */
  readonly fuseInProjection: boolean;
  /** Emits one ONNX node; returns the name of its (first) output, fresh unless `output` is given. */
  emit(opType: string, inputs: readonly string[], attrs?: Attrs, output?: string): string;
  /** Emits one node with several outputs ('' for an optional one not wanted), in `domain` ('' is ONNX's own). */
  emitNode(opType: string, inputs: readonly string[], outputs: readonly string[], attrs?: Attrs, domain?: string): void;
  /** A fresh value name, for an output of `emitNode`. */
  fresh(): string;
  /** The node's output is the same tensor as `name` (no node is emitted unless the output must carry its own name). */
  alias(node: Node, name: string, i?: number): void;
  /** An initializer holding `t` (deduplicated by content). */
  constant(t: ConstTensor): string;
  /** An int64 initializer, 1-D unless `shape` says otherwise (`[]` for a scalar). */
  int64(values: readonly (number | bigint)[], shape?: readonly number[]): string;
  /** A 1-D int64 tensor [d] holding a dim's value at run time (symbols read from graph input shapes). */
  dim(d: Dim): string;
  /** A 1-D int64 tensor of a whole shape; `overrides` replace entries (0/-1 shortcuts, 1 for Expand). */
  shape(dims: readonly Dim[], overrides?: ReadonlyMap<number, number>): string;
  /** A Reshape of `x` (of shape `from`) to `to`, symbolic dims as 0 or -1 where that is exact, read at run time otherwise. */
  reshape(x: string, from: readonly Dim[], to: readonly Dim[], output?: string): string;
  /** The IR node that computes a value (undefined for graph inputs and parameters). */
  producer(value: number | null | undefined): Node | undefined;
  /** How many IR nodes read a value (a graph output counts as a reader). */
  readers(value: number): number;
  /**
   * Input `i` in whatever shape it is held in (see outputAs): for a mapping that reads any leading
   * dims, as Linear, LayerNorm over the last axis and elementwise ops do. Its IR value otherwise.
   */
  view(node: Node, i: number): View;
  /** The same for a value. */
  viewOf(value: number): View;
  /** Input `i` as a tensor of shape `shape` (a Reshape of what holds it, unless that has the shape already). */
  inputAs(node: Node, i: number, shape: readonly Dim[]): string;
  /**
   * The outputs computed in shape `shape` (the same elements as their IR types): `write` emits them
   * into the names given; mappings that read a view take it as it is, the others a Reshape to the IR
   * type (dropped when nothing reads it). Swin's map stays (B, H*W, C) from one window gather to the next.
   */
  outputAs(node: Node, shape: readonly Dim[], write: (...names: string[]) => void): void;
  /** Output `i` (written by the mapping as its IR type) is also held as `view`: a Reshape's output is its input's elements. */
  shareView(node: Node, view: View, i?: number): void;
  /** Records that output `i` (as its view holds it) is `unbiased.name + unbiased.bias`. */
  setUnbiased(node: Node, unbiased: Unbiased, i?: number): void;
  /** Input `i` before its Linear's bias, when a consumer may add that bias itself: the Linear is read by this node only. */
  unbiased(node: Node, i: number): Unbiased | undefined;
}

/** A symbol's source: the graph input and axis whose size is `coef * symbol + offset`. */
interface SymbolSource {
  readonly input: string;
  readonly axis: number;
  readonly coef: number;
  readonly offset: number;
}

const FRACTION_LIMIT = 1 << 20;

/** Recovers num/den from a float coefficient (dims' coefficients come from integer division). */
function fraction(x: number): { num: number; den: number } {
  for (let den = 1; den <= FRACTION_LIMIT; den++) {
    const num = Math.round(x * den);
    if (Math.abs(num / den - x) < 1e-9) return { num, den };
  }
  throw new Error(`ONNX export: coefficient ${x} of a symbolic dim is not a small fraction`);
}

const gcd = (a: number, b: number): number => (b === 0 ? Math.abs(a) : gcd(b, a % b));

function tensorBytes(t: ConstTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

export function tensorProto(name: string, t: ConstTensor): TensorProto {
  return { name, dims: [...t.shape], dataType: onnxDataType(t.dtype), rawData: tensorBytes(t) };
}

function attribute(name: string, v: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`ONNX export: attribute ${name}=${v} must be an integer (use { float } for floats)`);
    return { name, type: T.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: [...(v as readonly number[])] };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: T.FLOATS, floats: [...v.floats] };
  if ('tensor' in v) return { name, type: T.TENSOR, t: tensorProto('', v.tensor) };
  throw new Error(`ONNX export: attribute ${name} has an unsupported value`);
}

/** Names unique within one namespace: a taken name gets a numeric suffix. */
class NameTable {
  private readonly taken = new Set<string>();
  reserve(name: string): void {
    this.taken.add(name);
  }
  has(name: string): boolean {
    return this.taken.has(name);
  }
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }
}

export class ExportContext implements LoweringContext {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** Graph outputs whose value already has another name: copied by an Identity at the end. */
  private readonly pendingOutputs: { name: string; value: number }[] = [];
  private readonly valueNames = new Map<number, string>();
  private readonly outputValues = new Map<number, string>();
  private readonly values = new NameTable();
  private readonly nodeNames = new NameTable();
  /** Constants emitted so far, by dtype, shape and a hash of the bytes; the bytes are compared too. */
  private readonly constants = new Map<string, { readonly bytes: Uint8Array; readonly name: string }[]>();
  private constantCount = 0;
  private readonly dims = new Map<string, string>();
  private readonly symbols = new Map<string, SymbolSource>();
  private current: { base: string; count: number } | undefined;

  /** Operator domains other than the default one that the emitted nodes use. */
  readonly domains = new Set<string>();
  private readonly producers = new Map<number, Node>();
  private readonly readCounts = new Map<number, number>();
  private readonly views = new Map<number, View>();
  private readonly biases = new Map<number, Unbiased>();

  constructor(
    private readonly graph: Graph,
    readonly opset: number,
    readonly target: OnnxTarget = 'portable',
    readonly ortAttention: OrtAttentionPolicy = multiHeadAttentionWins,
    readonly fuseInProjection = true,
  ) {
    for (const v of [...graph.inputs, ...graph.params]) {
      if (this.values.has(v.name)) throw new Error(`ONNX export: the name '${v.name}' is used by two graph inputs or parameters`);
      this.values.reserve(v.name);
      this.valueNames.set(v.value, v.name);
    }
    for (const o of graph.outputs) {
      if (this.values.has(o.name)) throw new Error(`ONNX export: output name '${o.name}' is also the name of an input, a parameter or another output`);
      this.values.reserve(o.name);
      if (this.valueNames.has(o.value) || this.outputValues.has(o.value)) this.pendingOutputs.push({ name: o.name, value: o.value });
      else this.outputValues.set(o.value, o.name);
    }
    this.findSymbolSources();
    for (const node of graph.nodes) for (const v of node.outputs) this.producers.set(v, node);
    const read = (v: number) => this.readCounts.set(v, (this.readCounts.get(v) ?? 0) + 1);
    for (const node of graph.nodes) for (const v of node.inputs) if (v !== null) read(v);
    for (const o of graph.outputs) read(o.value);
  }

  producer(value: number | null | undefined): Node | undefined {
    return value === null || value === undefined ? undefined : this.producers.get(value);
  }

  readers(value: number): number {
    return this.readCounts.get(value) ?? 0;
  }

  viewOf(value: number): View {
    return this.views.get(value) ?? { name: this.nameOf(value), shape: this.type(value).shape };
  }

  view(node: Node, i: number): View {
    const v = node.inputs[i];
    if (v === undefined || v === null) throw new Error(`ONNX export: ${node.op} input ${i} is absent`);
    return this.viewOf(v);
  }

  inputAs(node: Node, i: number, shape: readonly Dim[]): string {
    const held = this.view(node, i);
    return shapesEqual(held.shape, shape) ? held.name : this.reshape(held.name, held.shape, shape);
  }

  outputAs(node: Node, shape: readonly Dim[], write: (...names: string[]) => void): void {
    const held = node.outputs.map((v, i) => {
      const ir = this.type(v).shape;
      return shapesEqual(shape, ir) ? { name: this.output(node, i) } : { name: this.fresh(), v, ir };
    });
    write(...held.map((h) => h.name));
    for (const h of held) {
      if (h.v === undefined) continue;
      this.views.set(h.v, { name: h.name, shape });
      this.reshape(h.name, shape, h.ir, this.nameOf(h.v));
    }
  }

  shareView(node: Node, view: View, i = 0): void {
    this.views.set(node.outputs[i]!, view);
  }

  setUnbiased(node: Node, unbiased: Unbiased, i = 0): void {
    this.biases.set(node.outputs[i]!, unbiased);
  }

  unbiased(node: Node, i: number): Unbiased | undefined {
    const v = node.inputs[i];
    if (v === undefined || v === null || this.readers(v) !== 1) return undefined;
    const u = this.biases.get(v);
    // the bias applies to the tensor as it is held now
    return u && shapesEqual(u.shape, this.viewOf(v).shape) ? u : undefined;
  }

  /** For each symbol, the first graph input dimension (in input order, then axis order) it can be read from. */
  private findSymbolSources(): void {
    const linear: { symbol: string; source: SymbolSource }[] = [];
    for (const input of this.graph.inputs) {
      typeOf(this.graph, input.value).shape.forEach((d, axis) => {
        if (!isSymbolic(d)) return;
        const symbolTerms = d.terms.filter((t) => t.symbols.length > 0);
        const constant = d.terms.find((t) => t.symbols.length === 0)?.coef ?? 0;
        if (symbolTerms.length !== 1 || symbolTerms[0]!.symbols.length !== 1) return;
        const [term] = symbolTerms as [{ coef: number; symbols: readonly string[] }];
        const source = { input: input.name, axis, coef: term.coef, offset: constant };
        // a plain symbol is preferred over a linear expression of it
        if (term.coef === 1 && constant === 0) {
          if (!this.symbols.has(term.symbols[0]!)) this.symbols.set(term.symbols[0]!, source);
        } else linear.push({ symbol: term.symbols[0]!, source });
      });
    }
    for (const { symbol, source } of linear) if (!this.symbols.has(symbol)) this.symbols.set(symbol, source);
  }

  /** Starts the ONNX nodes of one IR node: they are named after its module scope, op and index. */
  beginNode(node: Node, index: number): void {
    const scope = node.source?.scope;
    this.current = { base: `${scope ? `${scope}/` : ''}${node.op}_${index}`, count: 0 };
  }

  endNode(): void {
    this.current = undefined;
  }

  private nodeName(opType: string): string {
    const c = this.current;
    if (!c) return this.nodeNames.fresh(`shape/${opType}`);
    c.count++;
    return this.nodeNames.fresh(c.count === 1 ? c.base : `${c.base}/${opType}`);
  }

  private freshValue(): string {
    return this.values.fresh(this.current ? `${this.current.base}/out` : 'shape');
  }

  /** The ONNX name of an IR value, assigned on first use. */
  nameOf(value: number): string {
    const known = this.valueNames.get(value) ?? this.outputValues.get(value);
    if (known !== undefined) return known;
    const name = this.values.fresh(`v${value}`);
    this.valueNames.set(value, name);
    return name;
  }

  isGraphOutput(value: number): boolean {
    return this.outputValues.has(value);
  }

  input(node: Node, i: number): string {
    const v = node.inputs[i];
    if (v === undefined) throw new Error(`ONNX export: ${node.op} has no input ${i}`);
    return v === null ? '' : this.nameOf(v);
  }

  output(node: Node, i = 0): string {
    const v = node.outputs[i];
    if (v === undefined) throw new Error(`ONNX export: ${node.op} has no output ${i}`);
    return this.nameOf(v);
  }

  type(value: number): TensorType {
    return typeOf(this.graph, value);
  }

  inputType(node: Node, i: number): TensorType {
    const v = node.inputs[i];
    if (v === undefined || v === null) throw new Error(`ONNX export: ${node.op} input ${i} is absent`);
    return this.type(v);
  }

  emit(opType: string, inputs: readonly string[], attrs: Attrs = {}, output?: string): string {
    const out = output ?? this.freshValue();
    this.emitNode(opType, inputs, [out], attrs);
    return out;
  }

  emitNode(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: Attrs = {}, domain = ''): void {
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    // trailing absent optional inputs and outputs are dropped; inner ones stay as ''
    const trim = (names: readonly string[]) => {
      const out = [...names];
      while (out.length > 0 && out[out.length - 1] === '') out.pop();
      return out;
    };
    if (domain) this.domains.add(domain);
    this.nodes.push({ name: this.nodeName(opType), opType, ...(domain ? { domain } : {}), input: trim(inputs), output: trim(outputs), ...(attribute_.length ? { attribute: attribute_ } : {}) });
  }

  /** A fresh name for a value a mapping makes (the output of an `emitNode`). */
  fresh(): string {
    return this.freshValue();
  }

  alias(node: Node, name: string, i = 0): void {
    const v = node.outputs[i]!;
    if (this.outputValues.has(v) || this.valueNames.has(v)) this.emit('Identity', [name], {}, this.nameOf(v));
    else this.valueNames.set(v, name);
  }

  constant(t: ConstTensor): string {
    const bytes = tensorBytes(t);
    const key = `${t.dtype}[${t.shape.join(',')}]:${fnv1a(bytes)}`;
    const bucket = this.constants.get(key) ?? [];
    const known = bucket.find((c) => sameBytes(c.bytes, bytes));
    if (known !== undefined) return known.name;
    const name = this.values.fresh(`const_${this.constantCount++}`);
    bucket.push({ bytes, name });
    this.constants.set(key, bucket);
    this.initializers.push(tensorProto(name, t));
    return name;
  }

  int64(values: readonly (number | bigint)[], shape: readonly number[] = [values.length]): string {
    return this.constant({ dtype: 'int64', shape, data: BigInt64Array.from(values, (v) => BigInt(v)) });
  }

  dim(d: Dim): string {
    if (!isSymbolic(d)) return this.int64([d]);
    const key = dimToString(d);
    const cached = this.dims.get(key);
    if (cached !== undefined) return cached;
    // sum of integer-coefficient monomials over a common denominator, then one exact division
    const coefs = d.terms.map((t) => fraction(t.coef));
    const den = coefs.reduce((l, c) => (l * c.den) / gcd(l, c.den), 1);
    let sum: string | undefined;
    let constant = 0;
    d.terms.forEach((t, k) => {
      const scaled = (coefs[k]!.num * den) / coefs[k]!.den;
      if (t.symbols.length === 0) {
        constant += scaled;
        return;
      }
      const monomial = this.monomial(t.symbols);
      const magnitude = Math.abs(scaled);
      const term = magnitude === 1 ? monomial : this.withinShape(() => this.emit('Mul', [monomial, this.int64([magnitude])]));
      if (sum === undefined) sum = scaled < 0 ? this.withinShape(() => this.emit('Neg', [term])) : term;
      else sum = this.withinShape(() => this.emit(scaled < 0 ? 'Sub' : 'Add', [sum!, term]));
    });
    let result = sum!;
    if (constant !== 0) result = this.withinShape(() => this.emit(constant < 0 ? 'Sub' : 'Add', [result, this.int64([Math.abs(constant)])]));
    if (den !== 1) result = this.withinShape(() => this.emit('Div', [result, this.int64([den])]));
    this.dims.set(key, result);
    return result;
  }

  /** A product of symbols (with repeats), each read from a graph input's shape; cached by its text. */
  private monomial(symbols: readonly string[]): string {
    const key = symbols.join('*');
    const cached = this.dims.get(key);
    if (cached !== undefined) return cached;
    let result: string;
    if (symbols.length === 1) result = this.symbol(symbols[0]!);
    else result = this.withinShape(() => this.emit('Mul', [this.monomial(symbols.slice(0, -1)), this.symbol(symbols[symbols.length - 1]!)]));
    this.dims.set(key, result);
    return result;
  }

  private symbol(name: string): string {
    const cached = this.dims.get(name);
    if (cached !== undefined) return cached;
    const source = this.symbols.get(name);
    if (!source) {
      throw new Error(`ONNX export: the symbolic dim '${name}' is needed as a value, but no graph input has a dimension that determines it (give some input a dim '${name}')`);
    }
    let result = this.withinShape(() => this.emit('Shape', [source.input], { start: source.axis, end: source.axis + 1 }, this.values.fresh(`dim_${name}`)));
    if (source.coef !== 1 || source.offset !== 0) {
      // the input's size is coef*name + offset: name = (size - offset) * den / num
      const { num, den } = fraction(source.coef);
      if (source.offset !== 0) {
        const off = fraction(source.offset);
        if (off.den !== 1) throw new Error(`ONNX export: cannot read '${name}' from a dim with a fractional offset`);
        result = this.withinShape(() => this.emit('Sub', [result, this.int64([off.num])]));
      }
      if (den !== 1) result = this.withinShape(() => this.emit('Mul', [result, this.int64([den])]));
      if (num !== 1) result = this.withinShape(() => this.emit('Div', [result, this.int64([num])]));
    }
    this.dims.set(name, result);
    return result;
  }

  /** Shape computations are shared across nodes, so they are named for what they compute, not the node that first asked. */
  private withinShape<T>(body: () => T): T {
    const saved = this.current;
    this.current = undefined;
    try {
      return body();
    } finally {
      this.current = saved;
    }
  }

  shape(dims: readonly Dim[], overrides: ReadonlyMap<number, number> = new Map()): string {
    const fixed = dims.map((d, i) => overrides.get(i) ?? (isSymbolic(d) ? undefined : d));
    if (fixed.every((d) => d !== undefined)) return this.int64(fixed as number[]);
    // runs of known entries become one constant; each symbolic entry its runtime value
    const parts: string[] = [];
    let run: number[] = [];
    fixed.forEach((d, i) => {
      if (d !== undefined) run.push(d);
      else {
        if (run.length) parts.push(this.int64(run));
        run = [];
        parts.push(this.dim(dims[i]!));
      }
    });
    if (run.length) parts.push(this.int64(run));
    return this.emit('Concat', parts, { axis: 0 });
  }

  reshape(x: string, from: readonly Dim[], to: readonly Dim[], output?: string): string {
    const overrides = new Map<number, number>();
    // with allowzero=0 a 0 entry copies the input's size; a literal 0 size needs allowzero=1 and no shortcuts
    const literalZero = to.some((d) => d === 0);
    if (!literalZero) {
      const rest: number[] = [];
      to.forEach((d, i) => {
        if (!isSymbolic(d)) return;
        // 0 copies the input's dim at the same position: exact whenever the dims are the same expression
        if (i < from.length && dimsEqual(from[i]!, d)) overrides.set(i, 0);
        else rest.push(i);
      });
      // -1 is exact only when every other entry is a known nonzero number
      if (rest.length === 1 && overrides.size === 0) overrides.set(rest[0]!, -1);
    }
    return this.emit('Reshape', [x, this.shape(to, overrides)], literalZero ? { allowzero: 1 } : {}, output);
  }

  /**
   * Graph outputs whose value already had a name get an Identity into the output name; then the
   * nodes and constants nothing reads are dropped (a mapping that reads past an op, as the packed
   * attention reads Q, K and V's source, leaves that op's nodes unread). Returns the names still
   * read, by which the caller keeps the parameters a node reads (a folded one, as Swin's bias
   * table with the weights known, is no longer read).
   */
  finish(): ReadonlySet<string> {
    for (const { name, value } of this.pendingOutputs) this.emit('Identity', [this.nameOf(value)], {}, name);
    const { nodes, read } = liveNodes(this.nodes, this.graph.outputs.map((o) => o.name));
    this.nodes.splice(0, this.nodes.length, ...nodes);
    const constants = this.initializers.filter((t) => read.has(t.name!));
    this.initializers.splice(0, this.initializers.length, ...constants);
    return read;
  }

  /** The names some node computes. */
  computed(): Set<string> {
    return new Set(this.nodes.flatMap((n) => n.output ?? []));
  }
}

/** FNV-1a (32 bits) of some bytes, as hex: a bucket key for constants (equal buckets still compare the bytes). */
export function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
