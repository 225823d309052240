/**
 * Dynamic int8 quantization of an exported model, as one pass over the ModelProto: every matmul
 * whose right operand is a constant 2-D float weight (a Linear's, read directly, through the
 * portable target's Transpose or Slices of a packed weight such as torch's in_proj_weight, or as
 * the onnxruntime target's FusedMatMul with transB) gets its
 * weight as int8, symmetric, one scale per output column, and its activation quantized at run time
 * (uint8, one scale per tensor: ONNX Runtime's DynamicQuantizeLinear). Everything else stays float:
 * matmuls of two activations (the attention core: scores and values), LayerNorm, softmax, the
 * residual stream, convolutions (ViT's and Swin's patch embedding), and the modules the caller
 * excludes by `state_dict` path (`heads.head`). The pass works on the ModelProto, after lowering,
 * so it serves every export target alike and sees the weights by their `state_dict` names.
 *
 * The form (bench/quantize-forms.ts, measured side by side): ONNX Runtime 1.30 turns each of
 * DynamicQuantizeLinear + MatMulInteger + Cast + Mul, QDQ around MatMul and MatMulIntegerToFloat
 * into the one com.microsoft DynamicQuantizeMatMul kernel (VNNI), so they run alike: 0.24-0.35 of
 * the fp32 MatMul at ViT-B/16's sizes, error 1 %. The portable and onnx23 targets get the standard
 * ops (any ONNX runtime reads them); the onnxruntime target gets DynamicQuantizeMatMul itself.
 *
 * Static quantization (`quantizeStatic`) takes each activation's range from calibration instead
 * and writes the QDQ format for every target: QuantizeLinear and DequantizeLinear with a constant
 * uint8 scale and zero point on the activation (one pair per tensor, however many matmuls read it),
 * DequantizeLinear of the int8 weight per column, then MatMul. ONNX Runtime 1.30 runs that as
 * QuantizeLinear + com.microsoft MatMulIntegerToFloat: as fast as the dynamic form on one of
 * ViT-B/16's Linears (bench/quantize-forms.ts), a little slower end to end on Swin-T's smaller
 * ones (bench/quantize.ts); what it buys is a range chosen over many inputs, not one batch's.
 */
import type { OnnxTarget } from './context.ts';
import { DataType, type ModelProto, type NodeProto, onnx, type TensorProto } from './proto.ts';
import { liveNodes } from './live-nodes.ts';
import { quantizePerColumn } from './quantize-weights.ts';

const INT8 = onnx.TensorProto.DataType.INT8;
const UINT8 = onnx.TensorProto.DataType.UINT8;
const MS = 'com.microsoft';

export interface QuantizeOptions {
  /** Which form to write (see the file's comment); `portable` by default. */
  readonly target?: OnnxTarget;
  /** Module paths (`state_dict` prefixes, `heads.head`, `encoder.layers`) whose weights stay float. */
  readonly exclude?: readonly string[];
}

/** What the pass decided for one matmul of the model. */
export interface QuantizeDecision {
  /** The ONNX node's name. */
  readonly node: string;
  readonly op: string;
  /** The constant right operand's initializer (`state_dict` name), when it has one. */
  readonly weight?: string;
  /** The float left operand (the activation a static quantization calibrates). */
  readonly activation: string;
  readonly quantized: boolean;
  /** Why it stays float, or the quantized weight's shape. */
  readonly reason: string;
}

export interface QuantizeResult {
  readonly model: ModelProto;
  readonly decisions: readonly QuantizeDecision[];
  /** Entries of `exclude` that matched no constant-weight matmul (a typo the caller should hear of). */
  readonly unmatched: readonly string[];
}

/** An activation's calibrated range (`calibrate` in `@tessera/compiler/node` measures it). */
export interface ActivationRange {
  readonly min: number;
  readonly max: number;
}

/** The module a weight belongs to: its `state_dict` name without `.weight`. */
export const modulePath = (weight: string) => weight.replace(/\.weight$/, '');

/** Whether `module` is `path` or lies under it. */
const under = (module: string, path: string) => module === path || module.startsWith(`${path}.`);

const attr = (node: NodeProto, name: string) => node.attribute?.find((a) => a.name === name);
const attrInt = (node: NodeProto, name: string, fallback: number) => Number(attr(node, name)?.i ?? fallback);

/** A matmul's constant right operand: the initializer it comes from and its values as the matmul reads them. */
interface WeightSource {
  /** The initializer (a `state_dict` name). */
  readonly weight: string;
  /** Row-major (rows, cols): (K, N), or (N, K) when `transposed`. */
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly transposed: boolean;
}

// a copy: decoded raw data may be a view at any offset of a larger buffer
const floats = (t: TensorProto) => new Float32Array(new Uint8Array(t.rawData!).buffer);
const int64s = (t: TensorProto | undefined) => (t?.dataType === DataType.INT64 && t.rawData ? Array.from(new BigInt64Array(new Uint8Array(t.rawData).buffer), Number) : undefined);

type Matrix = Omit<WeightSource, 'transposed'>;

/** A 2-D float value computed from one initializer by Transposes and unit-step Slices only, or why it is not one. */
function constantMatrix(name: string, initializers: ReadonlyMap<string, TensorProto>, producers: ReadonlyMap<string, NodeProto>): Matrix | string {
  const held = initializers.get(name);
  if (held) {
    if (held.dataType !== DataType.FLOAT || held.dims?.length !== 2) return `weight ${name} is not a 2-D float tensor`;
    if (!held.rawData) return `weight ${name} holds no inline data`;
    const [rows, cols] = held.dims.map(Number) as [number, number];
    return { weight: name, data: floats(held), rows, cols };
  }
  const node = producers.get(name);
  const computed = 'right operand is computed (a product of two activations, as in attention)';
  if (!node || node.domain || (node.opType !== 'Transpose' && node.opType !== 'Slice')) return computed;
  const inner = constantMatrix(node.input![0]!, initializers, producers);
  if (typeof inner === 'string') return inner;
  const { data, rows, cols } = inner;
  if (node.opType === 'Transpose') {
    const perm = attr(node, 'perm')?.ints?.map(Number);
    if (perm?.length !== 2 || perm[0] !== 1) return computed;
    const t = new Float32Array(data.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = data[r * cols + c]!;
    return { ...inner, data: t, rows: cols, cols: rows };
  }
  const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) => (node.input![i] ? int64s(initializers.get(node.input![i]!)) : undefined));
  if (!starts || !ends || (node.input![3] && !axes) || (node.input![4] && !steps) || steps?.some((x) => x !== 1)) return computed;
  const range = [[0, rows], [0, cols]];
  const size = [rows, cols];
  (axes ?? starts.map((_, i) => i)).forEach((a, i) => {
    const axis = a < 0 ? a + 2 : a;
    const clamp = (v: number) => Math.max(0, Math.min(size[axis]!, v < 0 ? v + size[axis]! : v));
    range[axis] = [clamp(starts[i]!), clamp(ends[i]!)];
  });
  const [[r0, r1], [c0, c1]] = range as [[number, number], [number, number]];
  const out = new Float32Array(Math.max(0, r1 - r0) * Math.max(0, c1 - c0));
  for (let r = r0; r < r1; r++) out.set(data.subarray(r * cols + c0, r * cols + c1), (r - r0) * (c1 - c0));
  return { ...inner, data: out, rows: r1 - r0, cols: c1 - c0 };
}

/** Why a matmul cannot be quantized, or where its constant weight comes from. */
function weightSource(node: NodeProto, initializers: ReadonlyMap<string, TensorProto>, producers: ReadonlyMap<string, NodeProto>): WeightSource | string {
  if (node.opType === 'FusedMatMul') {
    const alpha = attr(node, 'alpha')?.f ?? 1;
    if (alpha !== 1 || attrInt(node, 'transA', 0) || attrInt(node, 'transBatchA', 0) || attrInt(node, 'transBatchB', 0)) return 'FusedMatMul with alpha or a transposed left operand';
  }
  const m = constantMatrix(node.input![1]!, initializers, producers);
  if (typeof m === 'string') return m;
  return { ...m, transposed: node.opType === 'FusedMatMul' && attrInt(node, 'transB', 0) === 1 };
}

const raw = (a: Int8Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * The model with its constant-weight matmuls quantized, activations at run time (see the file's
 * comment), what was decided for each matmul, and the exclusions that matched nothing. The input
 * model is not changed.
 */
export function quantizeDynamic(model: ModelProto, options: QuantizeOptions = {}): QuantizeResult {
  return quantizeMatMuls(model, options, (node, name, q, fresh) => ({ nodes: dynamicMatMul(node, name, q, options.target ?? 'portable', fresh) }));
}

/**
 * The model with its constant-weight matmuls quantized in QDQ format, each activation's scale and
 * zero point from `ranges` (by tensor name: the decisions' `activation`s, which quantizeDynamic
 * lists for calibration). Throws when a quantized matmul's activation has no range.
 */
export function quantizeStatic(model: ModelProto, ranges: ReadonlyMap<string, ActivationRange>, options: QuantizeOptions = {}): QuantizeResult {
  const activations = new Map<string, string>();
  const weights = new Map<string, string>();
  return quantizeMatMuls(model, options, (node, name, q, fresh) => {
    const x = node.input![0]!;
    const nodes: NodeProto[] = [];
    const initializers: TensorProto[] = [];
    let xd = activations.get(x);
    if (!xd) {
      const range = ranges.get(x);
      if (!range) throw new Error(`quantizeStatic: no calibrated range for ${x}, the input of ${name}`);
      const { scale, zeroPoint } = uint8Affine(range);
      const [s, z, xq] = [fresh(`${x}_scale`), fresh(`${x}_zero_point`), fresh(`${x}_quantized`)];
      xd = fresh(`${x}_dequantized`);
      initializers.push({ name: s, dims: [], dataType: DataType.FLOAT, rawData: raw(Float32Array.of(scale)) }, { name: z, dims: [], dataType: UINT8, rawData: Uint8Array.of(zeroPoint) });
      nodes.push({ name: `${x}/QuantizeLinear`, opType: 'QuantizeLinear', input: [x, s, z], output: [xq] }, { name: `${x}/DequantizeLinear`, opType: 'DequantizeLinear', input: [xq, s, z], output: [xd] });
      activations.set(x, xd);
    }
    let wd = weights.get(q.data);
    if (!wd) {
      const z = fresh(`${q.data}_zero_point`);
      wd = fresh(`${q.data}_dequantized`);
      initializers.push({ name: z, dims: [q.cols], dataType: INT8, rawData: new Uint8Array(q.cols) });
      nodes.push({ name: `${q.data}/DequantizeLinear`, opType: 'DequantizeLinear', input: [q.data, q.scale, z], output: [wd], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] });
      weights.set(q.data, wd);
    }
    return { nodes: [...nodes, { name, opType: 'MatMul', input: [xd, wd], output: [node.output![0]!] }], initializers };
  });
}

/** A range as uint8 with a zero point, widened to hold 0 (which must stay exact: padding, ReLU's zeros). */
export function uint8Affine(range: ActivationRange): { scale: number; zeroPoint: number } {
  const [lo, hi] = [Math.min(range.min, 0), Math.max(range.max, 0)];
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-lo / scale))) };
}

/** The initializers of an int8 weight: (K, N) values and N scales. */
interface QuantizedInitializers {
  readonly data: string;
  readonly scale: string;
  readonly cols: number;
}

/** The nodes (and initializers of their own) that compute a quantized matmul's output, given its int8 weight. */
type EmitMatMul = (node: NodeProto, name: string, q: QuantizedInitializers, fresh: (base: string) => string) => { nodes: NodeProto[]; initializers?: TensorProto[] };

function quantizeMatMuls(model: ModelProto, options: QuantizeOptions, emit: EmitMatMul): QuantizeResult {
  const graph = model.graph ?? {};
  const exclude = options.exclude ?? [];
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const producers = new Map((graph.node ?? []).flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const taken = new Set([...initializers.keys(), ...(graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])]), ...(graph.input ?? []).map((i) => i.name!)]);
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };

  const decisions: QuantizeDecision[] = [];
  const matched = new Set<string>();
  const added: TensorProto[] = [];
  // one int8 copy per weight and orientation, however many matmuls read it
  const quantized = new Map<string, QuantizedInitializers>();
  const replaced = new Map<NodeProto, NodeProto[]>();
  for (const node of graph.node ?? []) {
    const name = node.name ?? node.output![0]!;
    const activation = node.input![0]!;
    if (node.opType === 'Attention' && node.domain === MS) {
      // the onnxruntime target's self-attention with the in-projection inside: said, not silently kept float
      const source = weightSource(node, initializers, producers);
      if (typeof source !== 'string') decisions.push({ node: name, op: node.opType, weight: source.weight, activation, quantized: false, reason: 'the in-projection is inside com.microsoft Attention (export with fuseInProjection: false to quantize it)' });
      continue;
    }
    if ((node.opType !== 'MatMul' || node.domain) && (node.opType !== 'FusedMatMul' || node.domain !== MS)) continue;
    const source = weightSource(node, initializers, producers);
    if (typeof source === 'string') {
      decisions.push({ node: name, op: node.opType, activation, quantized: false, reason: source });
      continue;
    }
    const weight = source.weight;
    const hit = exclude.filter((path) => under(modulePath(weight), path));
    hit.forEach((path) => matched.add(path));
    if (hit.length) {
      decisions.push({ node: name, op: node.opType, weight, activation, quantized: false, reason: `excluded (${hit.join(', ')})` });
      continue;
    }
    const [k, n] = source.transposed ? [source.cols, source.rows] : [source.rows, source.cols];
    // the tensor the matmul reads names its weight (a slice of a packed one included); node names may be absent
    const key = `${node.input![1]}|${source.transposed}`;
    let q = quantized.get(key);
    if (!q) {
      const w = quantizePerColumn(source.data, k, n, source.transposed);
      q = { data: fresh(`${weight}_quantized`), scale: fresh(`${weight}_scale`), cols: n };
      added.push({ name: q.data, dims: [k, n], dataType: INT8, rawData: raw(w.data) }, { name: q.scale, dims: [n], dataType: DataType.FLOAT, rawData: raw(w.scale) });
      quantized.set(key, q);
    }
    const emitted = emit(node, name, q, fresh);
    added.push(...(emitted.initializers ?? []));
    replaced.set(node, emitted.nodes);
    decisions.push({ node: name, op: node.opType, weight, activation, quantized: true, reason: `int8 (${k}, ${n}), a scale per column` });
  }

  // the float weights' Transposes and Slices that nothing reads any more go, as do the weights themselves and any initializer nothing reads (Swin's folded bias tables)
  const { nodes: live, read: reads } = liveNodes((graph.node ?? []).flatMap((n) => replaced.get(n) ?? [n]), (graph.output ?? []).map((o) => o.name!));
  const initializer = [...(graph.initializer ?? []).filter((t) => reads.has(t.name!)), ...added];
  const produced = new Set(live.flatMap((n) => n.output ?? []));
  const valueInfo = graph.valueInfo?.filter((v) => produced.has(v.name!));
  const imports = model.opsetImport ?? [];
  const usesMs = live.some((n) => n.domain === MS) && !imports.some((o) => o.domain === MS);
  return {
    model: {
      ...model,
      opsetImport: usesMs ? [...imports, { domain: MS, version: 1 }] : imports,
      graph: { ...graph, node: live, initializer, ...(valueInfo ? { valueInfo } : {}) },
    },
    decisions,
    unmatched: exclude.filter((path) => !matched.has(path)),
  };
}

/** The nodes computing `node`'s output from its float activation, quantized at run time, and the int8 weight. */
function dynamicMatMul(node: NodeProto, name: string, q: QuantizedInitializers, target: OnnxTarget, fresh: (base: string) => string): NodeProto[] {
  const [x, y] = [node.input![0]!, node.output![0]!];
  if (target === 'onnxruntime') return [{ name, opType: 'DynamicQuantizeMatMul', domain: MS, input: [x, q.data, q.scale], output: [y] }];
  const [xq, xs, xz, yi, yf, s] = ['x_quantized', 'x_scale', 'x_zero_point', 'int32', 'float', 'scale'].map((v) => fresh(`${name}/${v}`)) as [string, string, string, string, string, string];
  return [
    { name: `${name}/DynamicQuantizeLinear`, opType: 'DynamicQuantizeLinear', input: [x], output: [xq, xs, xz] },
    { name: `${name}/MatMulInteger`, opType: 'MatMulInteger', input: [xq, q.data, xz], output: [yi] },
    { name: `${name}/Cast`, opType: 'Cast', input: [yi], output: [yf], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT }] },
    { name: `${name}/Mul_scale`, opType: 'Mul', input: [xs, q.scale], output: [s] },
    { name, opType: 'Mul', input: [yf, s], output: [y] },
  ];
}

/** One line per matmul: quantized or kept float, and why (the pass's dump: `tessera export --quantize M --explain`). */
export function formatQuantizeDecisions(decisions: readonly QuantizeDecision[], mode: 'dynamic' | 'static' = 'dynamic'): string {
  const count = decisions.filter((d) => d.quantized).length;
  const lines = decisions.map((d) => `  ${d.quantized ? 'int8 ' : 'float'} ${d.op} ${d.node}${d.weight ? ` (${d.weight})` : ''}: ${d.reason}`);
  return [`quantize ${mode}: ${count} of ${decisions.length} matmuls to int8`, ...lines].join('\n');
}
