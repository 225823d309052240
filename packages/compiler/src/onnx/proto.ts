/** The ONNX protobuf schema (onnx-proto, protobufjs-generated) and the small facts about it we rely on. */
import onnxProto from 'onnx-proto';
import type { DType } from '@tessera/graph-dsl';

export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

export type ModelProto = P.IModelProto;
export type GraphProto = P.IGraphProto;
export type NodeProto = P.INodeProto;
export type TensorProto = P.ITensorProto;
export type ValueInfoProto = P.IValueInfoProto;
export type AttributeProto = P.IAttributeProto;
export type TypeProto = P.ITypeProto;

/** TensorProto.DataType numbers (onnx.proto). */
export const DataType = {
  FLOAT: 1,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
} as const;

/** Element types an exported tensor can have: the IR's dtypes plus int64 for shapes and indices. */
export type OnnxDType = DType | 'int64';

export function onnxDataType(dtype: OnnxDType): number {
  switch (dtype) {
    case 'float32':
      return DataType.FLOAT;
    case 'int32':
      return DataType.INT32;
    case 'int64':
      return DataType.INT64;
    case 'bool':
      return DataType.BOOL;
  }
}

/** The lowest ONNX release that ships each default-domain opset decides the IR version (onnx/docs/Versioning.md). */
const IR_VERSION_FOR_OPSET: Readonly<Record<number, number>> = { 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11 };

export const SUPPORTED_OPSETS: readonly number[] = Object.keys(IR_VERSION_FOR_OPSET).map(Number);

export function irVersionFor(opset: number): number {
  const ir = IR_VERSION_FOR_OPSET[opset];
  if (ir === undefined) {
    throw new Error(`ONNX export: opset ${opset} is not supported (supported: ${SUPPORTED_OPSETS.join(', ')}; LayerNormalization needs 17 or later)`);
  }
  return ir;
}

/** INT64 bounds as Slice uses them for an open end. */
export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;
