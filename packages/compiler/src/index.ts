export { CompileError } from './errors.ts';
export { type Pass, type PassContext, type PassStats, type RunOptions, type RunResult, runPasses, dumpTo, formatStats } from './pass.ts';
export { GraphEditor, useCounts, producers, operandsToString } from './edit.ts';
export { verifyGraph } from './verify.ts';
export { type HostKernel, HOST_KERNELS, hasHostKernel, evaluateHost, erf, broadcastIndex, broadcastShape } from './host/index.ts';
export { interpret, type InterpretOptions } from './host/interpret.ts';
export * from './onnx/index.ts';
