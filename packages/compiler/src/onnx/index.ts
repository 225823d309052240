/** ONNX export: a Tessera graph as an ONNX model (bytes, a ModelProto, or files with external data). */
export { DEFAULT_OPSET, encodeModel, EXTERNAL_DATA_THRESHOLD, exportOnnx, exportOnnxModel, initializerBytes, type OnnxExportOptions, PRODUCER_NAME, PRODUCER_VERSION } from './export.ts';
export { type Attrs, type AttrValue, type ConstTensor, type LoweringContext, ONNX_TARGETS, type OnnxTarget } from './context.ts';
export { lowerNode, ONNX_OPS, type OnnxLowering, type OnnxOpTable } from './ops/index.ts';
export { multiHeadAttentionWins, type OrtAttentionPolicy, type OrtAttentionShape } from './ort-attention.ts';
export { irVersionFor, type ModelProto, onnx, SUPPORTED_OPSETS } from './proto.ts';
