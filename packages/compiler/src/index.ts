export { compile, defaultPipeline, type CompileOptions, type CompileResult } from './compile.ts';
export { CompileError } from './errors.ts';
export { type Pass, type PassContext, type PassStats, type RunOptions, type RunResult, runPasses, dumpTo, formatStats } from './pass.ts';
export { GraphEditor, useCounts, producers, operandsToString, mapAttrDims } from './edit.ts';
export { verifyGraph } from './verify.ts';
export { exposeIntermediates, type Intermediate, IntermediateError, scopesWith } from './intermediates.ts';
export {
  absent, AbsentPattern, alt, AltPattern, COMMUTATIVE, ConstPattern, cst, optional, type Match, op, OpPattern, type Pattern, type RewriteBuilder, type RewriteOptions, type Rule,
  rewriteOnce, rewritePass, v, VarPattern,
} from './rewrite.ts';
export { bindShapes } from './passes/bind-shapes.ts';
export { evalMode } from './passes/eval-mode.ts';
export { algebraicSimplify, identityRules, movementRules } from './passes/algebraic-simplify.ts';
export { constantFold, type ConstantFoldOptions } from './passes/constant-fold.ts';
export { cse, attrsEqual } from './passes/cse.ts';
export { dce } from './passes/dce.ts';
export { foldAttentionBias } from './passes/fold-attention-bias.ts';
export { formatFusions, FUSION_RULES, fusionCounts, fusionPasses } from './fusions/index.ts';
export { attentionHeadsRule } from './fusions/attention-heads.ts';
export { attentionRule } from './fusions/attention.ts';
export { geluRule } from './fusions/gelu.ts';
export { linearNoBiasRule, linearRule } from './fusions/linear.ts';
export { type HostKernel, HOST_KERNELS, hasHostKernel, evaluateHost, erf, broadcastIndex, broadcastShape } from './host/index.ts';
export { interpret, type InterpretOptions } from './host/interpret.ts';
export * from './onnx/index.ts';
export { graphFlops, nodeFlops } from './analysis/cost.ts';
export { humanCount, type LayerRow, readableFlops, type Summary, type SummaryInput, summarize } from './analysis/summary.ts';
export { quantizePerColumn, type QuantizedWeight } from './onnx/quantize-weights.ts';
export { type ActivationRange, formatQuantizeDecisions, modulePath, type QuantizeDecision, type QuantizeOptions, type QuantizeResult, quantizeDynamic, quantizeStatic, uint8Affine } from './onnx/quantize.ts';
