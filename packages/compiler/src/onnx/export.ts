/** Graph -> ONNX ModelProto: parameters as initializers named by their paths, one mapping per op, symbolic dims as dim_param. */
import { checkWeights, type Dim, dimToString, type Graph, type HostTensor, initialWeights, sourceToString, type TensorType, typeOf, WeightsError } from '@tessera/graph-dsl';
import { ExportContext, type OnnxTarget, tensorProto } from './context.ts';
import type { OrtAttentionPolicy } from './ort-attention.ts';
import { lowerNode } from './ops/index.ts';
import { irVersionFor, type ModelProto, onnx, onnxDataType, type TensorProto, type TypeProto, type ValueInfoProto } from './proto.ts';

export interface OnnxExportOptions {
  /**
   * Parameter values by `state_dict` name; every parameter of the graph must be present with its
   * shape. Without them, the parameters' initial values from `seed` (as `initialWeights` and a
   * tfjs Session without weights give them).
   */
  readonly weights?: ReadonlyMap<string, HostTensor>;
  /** Seeds the initial weights when `weights` is not given. Default 0. */
  readonly seed?: number;
  /** Default-domain opset, 17 to 23: 17 for `portable` and `onnxruntime`, 23 for `onnx23` unless given. */
  readonly opset?: number;
  /** What the model is for (see OnnxTarget); `portable` by default. */
  readonly target?: OnnxTarget;
  /** For the onnxruntime target, when to emit MultiHeadAttention (the measured rule by default). */
  readonly ortAttention?: OrtAttentionPolicy;
  /**
   * For the onnxruntime target, whether a self-attention's packed in-projection goes into
   * com.microsoft Attention with it (the default, measured faster); false keeps it a FusedMatMul,
   * for a pass over the model that works on the Linears' matmuls (quantizeDynamic).
   */
  readonly fuseInProjection?: boolean;
  /** The graph's name in the model. */
  readonly modelName?: string;
  readonly docString?: string;
  /** Write value_info (type and shape) for intermediate values; on by default. */
  readonly valueInfo?: boolean;
}

export const PRODUCER_NAME = 'tessera';
export const PRODUCER_VERSION = '0.1.0';
export const DEFAULT_OPSET = 17;
/** Protobuf messages cannot exceed 2 GiB; past this many initializer bytes the weights go to an external file. */
export const EXTERNAL_DATA_THRESHOLD = Math.floor(1.8 * 2 ** 30);

function typeProto(t: TensorType): TypeProto {
  const dim = t.shape.map((d: Dim) => (typeof d === 'number' ? { dimValue: d } : { dimParam: dimToString(d) }));
  return { tensorType: { elemType: onnxDataType(t.dtype), shape: { dim } } };
}

function valueInfo(name: string, t: TensorType): ValueInfoProto {
  return { name, type: typeProto(t) };
}

/** The parameters' initializers, checked against the graph by the one weights check every runner uses. */
function parameterInitializers(graph: Graph, given: ReadonlyMap<string, HostTensor> | undefined, seed: number): TensorProto[] {
  // from plain JavaScript a record may come where the Map belongs
  if (given !== undefined && !(given instanceof Map)) throw new WeightsError(`ONNX export: weights must be a Map from state_dict names to tensors, got ${Object.prototype.toString.call(given)}`);
  const weights = given ?? initialWeights(graph, seed);
  checkWeights(graph, weights);
  return graph.params.map((p) => tensorProto(p.name, weights.get(p.name)!));
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The ModelProto of a graph: same graph and weights, same model, field for field. */
export function exportOnnxModel(graph: Graph, options: OnnxExportOptions): ModelProto {
  if (!LITTLE_ENDIAN) throw new Error('ONNX export: raw tensor data is little-endian; this machine is big-endian');
  const target = options.target ?? 'portable';
  const opset = options.opset ?? (target === 'onnx23' ? 23 : DEFAULT_OPSET);
  if (target === 'onnx23' && opset < 23) throw new Error(`ONNX export: the onnx23 target writes opset 23's Attention; opset ${opset} has none`);
  const irVersion = irVersionFor(opset);
  const params = parameterInitializers(graph, options.weights, options.seed ?? 0);
  const cx = new ExportContext(graph, opset, target, options.ortAttention, options.fuseInProjection ?? true);
  graph.nodes.forEach((node, index) => {
    cx.beginNode(node, index);
    try {
      lowerNode(node, cx);
    } catch (e) {
      const where = node.source ? ` (at ${sourceToString(node.source)})` : '';
      throw new Error(`ONNX export of ${node.op} node ${index}${where}: ${(e as Error).message}`, { cause: e });
    }
    cx.endNode();
  });
  const read = cx.finish();

  const inputs = graph.inputs.map((i) => valueInfo(i.name, typeOf(graph, i.value)));
  const outputs = graph.outputs.map((o) => valueInfo(o.name, typeOf(graph, o.value)));
  const initializers = [...params.filter((p) => read.has(p.name!)), ...cx.initializers];
  const intermediates: ValueInfoProto[] = [];
  if (options.valueInfo ?? true) {
    const known = new Set([...inputs, ...outputs, ...initializers].map((v) => v.name!));
    const computed = cx.computed();
    for (const node of graph.nodes) {
      for (const v of node.outputs) {
        const name = cx.nameOf(v);
        if (known.has(name) || !computed.has(name)) continue;
        known.add(name);
        intermediates.push(valueInfo(name, typeOf(graph, v)));
      }
    }
  }
  return {
    irVersion,
    // ONNX Runtime's contrib ops are in com.microsoft, version 1
    opsetImport: [{ domain: '', version: opset }, ...[...cx.domains].sort().map((domain) => ({ domain, version: 1 }))],
    producerName: PRODUCER_NAME,
    producerVersion: PRODUCER_VERSION,
    ...(options.docString ? { docString: options.docString } : {}),
    graph: {
      name: options.modelName ?? 'tessera',
      node: cx.nodes,
      initializer: initializers,
      input: inputs,
      output: outputs,
      ...(intermediates.length ? { valueInfo: intermediates } : {}),
    },
  };
}

/** Bytes of tensor data held inline by a model's initializers. */
export function initializerBytes(model: ModelProto): number {
  return (model.graph?.initializer ?? []).reduce((sum, t) => sum + (t.rawData?.byteLength ?? 0), 0);
}

export function encodeModel(model: ModelProto): Uint8Array {
  const bytes = onnx.ModelProto.encode(model).finish();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The `.onnx` bytes of a graph. Models whose weights pass ~1.8 GiB need `exportOnnxFiles` with external data. */
export function exportOnnx(graph: Graph, options: OnnxExportOptions): Uint8Array {
  const model = exportOnnxModel(graph, options);
  const total = initializerBytes(model);
  if (total > EXTERNAL_DATA_THRESHOLD) {
    throw new Error(`ONNX export: the initializers hold ${(total / 2 ** 30).toFixed(2)} GiB, too much for one protobuf message (2 GiB); use exportOnnxFiles, which writes them as external data`);
  }
  return encodeModel(model);
}
