export { type BackendInfo, type BackendName, type BackendPreference, BackendError, backendInfo, initBackend, initBackendInfo } from './backend.ts';
export { LoweringError } from './errors.ts';
export { fromTf, fromTfSync, toTf } from './host.ts';
export { KERNELS, type Kernel, type KernelContext, type KernelTable } from './kernels/index.ts';
export { lowerGraph, type Plan, printPlan, type Step } from './plan.ts';
export { type LoadOptions, type Mode, Session, type SessionOptions, type TrainOptions } from './session.ts';
