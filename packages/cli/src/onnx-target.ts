import { ONNX_TARGETS, type OnnxTarget } from '@tessera/compiler';
import { type Args, option, UsageError } from './args.ts';

/** `--target portable|onnx23|onnxruntime` (default portable): what an exported model is for. */
export function onnxTarget(args: Args): OnnxTarget {
  const target = (option(args, 'target') ?? 'portable') as OnnxTarget;
  if (!ONNX_TARGETS.includes(target)) throw new UsageError(`--target ${target}: expected one of ${ONNX_TARGETS.join(', ')} (portable: opset 17 standard ops; onnx23: opset 23's Attention; onnxruntime: ONNX Runtime's fused ops where measured faster)`);
  return target;
}
