/**
 * `@tessera/compiler/node`: what needs Node.js. Writing models to files (external data
 * included), running them on ONNX Runtime (onnxruntime-node, an optional peer dependency) and
 * validating them with Python's onnx.checker. The main entry has no Node-only import, so that a
 * browser bundler takes it as is.
 */
export { exportOnnxFiles, type OnnxFileOptions, type OnnxFiles, writeOnnxModelFiles } from './onnx/files.ts';
export { checkOnnxModel, type CheckResult, onnxCheckerMissing, openOnnxModel, type OnnxSession, runOnnxModel, runOnnxRuntime } from './onnx/runtime.ts';
export { calibrate, type CalibrationMethod } from './onnx/calibrate.ts';
