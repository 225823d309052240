import type { Graph, HostTensor } from '@tessera/graph-dsl';
import { foldAttentionBias } from './passes/fold-attention-bias.ts';
import { type Pass, type PassStats, runPasses } from './pass.ts';
import { algebraicSimplify } from './passes/algebraic-simplify.ts';
import { bindShapes } from './passes/bind-shapes.ts';
import { constantFold } from './passes/constant-fold.ts';
import { cse } from './passes/cse.ts';
import { dce } from './passes/dce.ts';
import { evalMode } from './passes/eval-mode.ts';
import { fusionPasses } from './fusions/index.ts';

export interface CompileOptions {
  /** Concrete sizes for some symbols ('B', 'H'); the rest stay symbolic. */
  readonly bindings?: Readonly<Record<string, number>>;
  /** 'eval' (the default) removes training-only ops; 'train' keeps them. */
  readonly mode?: 'eval' | 'train';
  /** Called with the IR before and after each pass (see `dumpTo`). */
  readonly dump?: (stage: string, graph: Graph) => void;
  /** Notes why rewrites did not apply, in the stats. */
  readonly explain?: boolean;
  /** Size cap of constant folding, in elements. */
  readonly foldMaxElements?: number;
  /** Run the fusions (on by default); false keeps the graph as traced, but simplified. */
  readonly fuse?: boolean;
  /**
   * The weights the graph will run with, when known (inference, export): attention biases that
   * depend on parameters only (Swin's relative position bias and window mask) are folded into
   * constants. Ignored in train mode, where those parameters keep learning.
   */
  readonly weights?: ReadonlyMap<string, HostTensor>;
}

export interface CompileResult {
  readonly graph: Graph;
  readonly stats: readonly PassStats[];
}

/** The default pipeline: bind-shapes -> eval-mode (in eval mode) -> algebraic-simplify -> constant-fold -> cse -> the fusions -> dce. */
export function defaultPipeline(options: CompileOptions = {}): Pass[] {
  return [
    bindShapes(options.bindings ?? {}),
    ...((options.mode ?? 'eval') === 'eval' ? [evalMode()] : []),
    algebraicSimplify(),
    constantFold(options.foldMaxElements === undefined ? {} : { maxElements: options.foldMaxElements }),
    cse(),
    ...((options.fuse ?? true) ? fusionPasses() : []),
    ...((options.fuse ?? true) && options.weights && (options.mode ?? 'eval') === 'eval' ? [foldAttentionBias(options.weights)] : []),
    dce(),
  ];
}

/** Compiles a traced graph with the default pipeline. */
export function compile(graph: Graph, options: CompileOptions = {}): CompileResult {
  return runPasses(graph, defaultPipeline(options), { ...(options.dump ? { dump: options.dump } : {}), explain: options.explain ?? false });
}
