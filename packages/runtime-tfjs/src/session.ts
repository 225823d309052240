/** A graph lowered to tfjs with its parameters as variables: inference, training, weights in and out. */
import * as tf from '@tensorflow/tfjs-core';
import {
  type Bindings, evaluateDim, type Graph, type HostTensor, initialWeights, seededRandom, sizeOf, sourceToString, typeOf, bindInputs, checkWeights, InputError,
} from '@tessera/graph-dsl';
import { type BackendInfo, type BackendPreference, initBackendInfo } from './backend.ts';
import { fromTf, fromTfSync, toTf } from './host.ts';
import type { KernelContext } from './kernels/index.ts';
import { lowerGraph, type Plan } from './plan.ts';

export type Mode = 'eval' | 'train';

export interface SessionOptions {
  /** Parameter values by name (every parameter); without them, `initialWeights(graph, seed)`. */
  readonly weights?: ReadonlyMap<string, HostTensor>;
  /** Seeds the initial weights and dropout. Default 0. */
  readonly seed?: number;
  readonly backend?: BackendPreference;
  /** 'train' makes dropout active. Default 'eval'. */
  readonly mode?: Mode;
  /** Checks every step's output against the graph's dtype and shape (for tests and debugging). */
  readonly checkShapes?: boolean;
}

export interface TrainOptions {
  /** The graph output to minimize: a float32 scalar (or one element). */
  readonly loss: string;
  readonly optimizer: tf.Optimizer;
  /** Scales the gradients so that their global L2 norm is at most this (torch's clip_grad_norm_). */
  readonly clipNorm?: number;
}

export interface LoadOptions {
  /** false: missing and unexpected keys are allowed (shapes must still fit). Default true. */
  readonly strict?: boolean;
}


export class Session {
  /** Training mode makes dropout active in `run` and `trainStep`. */
  mode: Mode;
  readonly #variables: Map<string, tf.Variable>;
  readonly #parameters: ReadonlySet<tf.Tensor>;
  readonly #constants: Map<number, tf.Tensor>;
  readonly #checkShapes: boolean;
  readonly #nextSeed: () => number;
  /** Tensors derived from parameters (transposed weights), with the parameter data they were made from. */
  readonly #derived = new Map<tf.Tensor, { data: object; tensors: Map<string, tf.Tensor> }>();
  #disposed = false;

  private constructor(
    readonly graph: Graph,
    readonly plan: Plan,
    readonly backend: BackendInfo,
    options: SessionOptions,
  ) {
    this.mode = options.mode ?? 'eval';
    this.#checkShapes = options.checkShapes ?? false;
    const random = seededRandom((options.seed ?? 0) ^ 0x5eed);
    this.#nextSeed = () => Math.floor(random() * 2 ** 31);
    const weights = options.weights ?? initialWeights(graph, options.seed ?? 0);
    checkWeights(graph, weights);
    this.#variables = new Map(graph.params.map((p) => [p.name, tf.tidy(() => tf.variable(toTf(weights.get(p.name)!), true))]));
    this.#parameters = new Set(this.#variables.values());
    this.#constants = new Map([...plan.constants].map(([v, t]) => [v, toTf(t)]));
  }

  /**
   * See KernelContext.derived: kept per parameter while its data stays the same (an assign, by an
   * optimizer or loadWeights, gives the variable new data), never under a gradient tape, where the
   * gradient must flow through `make` to the parameter.
   */
  readonly #derivedTensor = (source: tf.Tensor, what: string, make: () => tf.Tensor): tf.Tensor => {
    if (!(source instanceof tf.Variable) || !this.#parameters.has(source) || tf.engine().state.gradientDepth > 0) return make();
    let entry = this.#derived.get(source);
    if (entry?.data !== source.dataId) {
      if (entry) tf.dispose([...entry.tensors.values()]);
      entry = { data: source.dataId, tensors: new Map() };
      this.#derived.set(source, entry);
    }
    let t = entry.tensors.get(what);
    if (!t) {
      t = tf.keep(make());
      entry.tensors.set(what, t);
    }
    return t;
  };

  /** Picks the backend (see initBackend), lowers the graph and makes its parameters variables. */
  static async create(graph: Graph, options: SessionOptions = {}): Promise<Session> {
    const backend = await initBackendInfo(options.backend ?? 'auto');
    return new Session(graph, lowerGraph(graph), backend, options);
  }

  get inputNames(): string[] {
    return this.graph.inputs.map((i) => i.name);
  }

  get outputNames(): string[] {
    return this.graph.outputs.map((o) => o.name);
  }

  /** Runs the graph on host tensors and reads every output back. */
  async run(inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    checkHostData(inputs);
    bindInputs(this.graph, inputs);
    const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, toTf(v)]));
    let outputs: Record<string, tf.Tensor> = {};
    try {
      outputs = this.runTensors(tensors);
      const entries = await Promise.all(Object.entries(outputs).map(async ([k, t]) => [k, await fromTf(t)] as const));
      return Object.fromEntries(entries);
    } finally {
      tf.dispose(Object.values(tensors));
      tf.dispose(Object.values(outputs));
    }
  }

  /**
   * Runs the graph on tfjs tensors, synchronously. The inputs stay the caller's; the outputs are
   * new tensors the caller owns and must dispose. Every intermediate is freed after its last use.
   */
  runTensors(inputs: Readonly<Record<string, tf.Tensor>>): Record<string, tf.Tensor> {
    this.#alive();
    const bindings = bindInputs(this.graph, inputs);
    const owned: tf.Tensor[] = [];
    try {
      const env = this.#environment(inputs, owned);
      return this.#execute(env, bindings, true);
    } finally {
      tf.dispose(owned);
    }
  }

  /**
   * One optimization step: runs the graph under a gradient tape, takes the gradients of the
   * `loss` output with respect to every parameter that reaches it, clips them if asked, and
   * applies them with the optimizer. Returns the loss before the update.
   */
  trainStep(inputs: Readonly<Record<string, HostTensor | tf.Tensor>>, options: TrainOptions): number {
    this.#alive();
    const out = this.graph.outputs.find((o) => o.name === options.loss);
    if (!out) throw new Error(`trainStep: the graph has no output '${options.loss}'; its outputs are ${this.outputNames.join(', ')}`);
    const lossType = typeOf(this.graph, out.value);
    if (lossType.dtype !== 'float32') throw new Error(`trainStep: the loss output '${options.loss}' is ${lossType.dtype}; it must be float32`);
    for (const v of Object.values(inputs)) if (!(v instanceof tf.Tensor)) checkHostData({ v });
    const bindings = bindInputs(this.graph, inputs as Record<string, HostTensor | tf.Tensor>);
    const lossValue = tf.tidy(() => {
      const owned: tf.Tensor[] = [];
      const given = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v instanceof tf.Tensor ? v : toTf(v)]));
      const variables = [...this.#variables.values()];
      const { value, grads } = tf.variableGrads(() => {
        const env = this.#environment(given, owned);
        // Under the tape nothing is freed early: the gradients need the intermediates; tidy frees them.
        const loss = this.#execute(env, bindings, false, [out.value])[options.loss]!;
        if (loss.size !== 1) throw new Error(`trainStep: the loss output '${options.loss}' has shape [${loss.shape.join(', ')}]; it must be a scalar`);
        return tf.reshape(loss, []) as tf.Scalar;
      }, variables);
      const clipped = options.clipNorm === undefined ? grads : clipByGlobalNorm(grads, options.clipNorm);
      options.optimizer.applyGradients(clipped);
      return value;
    });
    const result = lossValue.dataSync()[0]!;
    lossValue.dispose();
    return result;
  }

  /** Replaces the parameter values. Lists every missing, unexpected and mis-shaped key in one WeightsError. */
  loadWeights(weights: ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>, options: LoadOptions = {}): void {
    this.#alive();
    const map = weights instanceof Map ? (weights as ReadonlyMap<string, HostTensor>) : new Map(Object.entries(weights));
    checkWeights(this.graph, map, { strict: options.strict ?? true });
    for (const [name, t] of map) {
      const variable = this.#variables.get(name);
      if (!variable) continue;
      const value = toTf(t);
      variable.assign(value);
      value.dispose();
    }
  }

  /** The parameter values by name, read to the host. */
  getWeights(): Map<string, HostTensor> {
    this.#alive();
    return new Map([...this.#variables].map(([name, v]) => [name, fromTfSync(v)]));
  }

  /** The parameters as tfjs variables (for custom training loops). */
  get variables(): ReadonlyMap<string, tf.Variable> {
    return this.#variables;
  }

  /** Frees the variables and constants. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    tf.dispose([...this.#variables.values(), ...this.#constants.values(), ...[...this.#derived.values()].flatMap((e) => [...e.tensors.values()])]);
  }

  #alive(): void {
    if (this.#disposed) throw new Error('this session has been disposed');
  }

  /** Graph inputs, parameters and constants by value id; bool data for an int32 input is cast (into `owned`). */
  #environment(inputs: Readonly<Record<string, tf.Tensor>>, owned: tf.Tensor[]): Map<number, tf.Tensor> {
    const env = new Map<number, tf.Tensor>(this.#constants);
    for (const p of this.graph.params) env.set(p.value, this.#variables.get(p.name)!);
    for (const i of this.graph.inputs) {
      let t = inputs[i.name]!;
      const dtype = typeOf(this.graph, i.value).dtype;
      if (t.dtype !== dtype) {
        t = tf.cast(t, dtype);
        owned.push(t);
      }
      env.set(i.value, t);
    }
    return env;
  }

  #execute(env: Map<number, tf.Tensor>, bindings: Bindings, free: boolean, only?: readonly number[]): Record<string, tf.Tensor> {
    const ctx: KernelContext = { bindings, training: this.mode === 'train', nextSeed: this.#nextSeed, derived: this.#derivedTensor };
    const external = new Set(env.values());
    try {
      this.#steps(env, ctx, bindings, free);
    } catch (e) {
      // A failed run frees what it made so far (under the tape, the caller's tidy does).
      if (free) tf.dispose([...env.values()].filter((t) => !external.has(t)));
      throw e;
    }
    const result: Record<string, tf.Tensor> = {};
    const handed = new Set<tf.Tensor>();
    for (const o of this.graph.outputs) {
      if (only && !only.includes(o.value)) continue;
      const t = env.get(o.value)!;
      // Inputs, variables, constants and a value returned twice are cloned: the caller owns every output.
      result[o.name] = external.has(t) || handed.has(t) ? tf.clone(t) : t;
      handed.add(t);
    }
    return result;
  }

  #steps(env: Map<number, tf.Tensor>, ctx: KernelContext, bindings: Bindings, free: boolean): void {
    for (const step of this.plan.steps) {
      const args = step.inputs.map((v) => (v === null ? undefined : env.get(v))) as tf.Tensor[];
      let outs: tf.Tensor[];
      try {
        outs = tf.tidy(() => step.run(args, ctx));
      } catch (e) {
        throw new Error(`${step.label}${step.source ? ` at ${sourceToString(step.source)}` : ''} failed on ${args.map((a) => (a ? `${a.dtype} [${a.shape.join(', ')}]` : '_')).join(', ')}: ${(e as Error).message}`, { cause: e });
      }
      step.outputs.forEach((v, k) => {
        // A kernel returns new tensors; a returned operand is cloned so that freeing stays exact.
        env.set(v, args.includes(outs[k]!) ? tf.clone(outs[k]!) : outs[k]!);
      });
      if (this.#checkShapes) for (const v of step.outputs) this.#check(step, v, env.get(v)!, bindings);
      if (free) {
        for (const v of step.free) {
          env.get(v)!.dispose();
          env.delete(v);
        }
      }
    }
  }

  #check(step: Plan['steps'][number], value: number, t: tf.Tensor, bindings: Bindings): void {
    const type = typeOf(this.graph, value);
    const shape = type.shape.map((d) => evaluateDim(d, bindings));
    if (t.dtype !== type.dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${step.label}${step.source ? ` at ${sourceToString(step.source)}` : ''}: the kernel made ${t.dtype} [${t.shape.join(', ')}], the graph says ${type.dtype} [${shape.join(', ')}]`);
    }
  }
}

/** torch.nn.utils.clip_grad_norm_: every gradient times min(1, maxNorm / global L2 norm). */
function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  const list = Object.values(grads);
  if (list.length === 0) return grads;
  const norm = tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g)))));
  const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
  return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)]));
}

function checkHostData(inputs: Readonly<Record<string, HostTensor>>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t.data.length !== sizeOf(t.shape)) {
      throw new InputError(`input '${name}' says shape [${t.shape.join(', ')}] (${sizeOf(t.shape)} elements) but holds ${t.data.length} values.`);
    }
  }
}
