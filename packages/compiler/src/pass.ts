import { type Graph, printGraph } from '@tessera/graph-dsl';
import { verifyGraph } from './verify.ts';

/** What a pass may report while it runs. */
export interface PassContext {
  /** Counts an event: a rewrite rule that fired, a node folded or merged. */
  count(what: string, times?: number): void;
  /** True when the caller wants to know why rewrites did not apply. */
  readonly explain: boolean;
  /** A line of explanation (a near-match a rule refused, and why). */
  note(message: string): void;
}

/** A small pure function from graph to graph, with a name for dumps and statistics. */
export interface Pass {
  readonly name: string;
  run(graph: Graph, ctx: PassContext): Graph;
}

export interface PassStats {
  readonly pass: string;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  /** How many times each rule fired (rewrite passes), or what the pass counted (folded, merged, removed). */
  readonly counts: Readonly<Record<string, number>>;
  /** Explanations, in explain mode. */
  readonly notes: readonly string[];
  readonly ms: number;
}

export interface RunOptions {
  /** Called with the graph before and after each pass: stages are `before <pass>` and `after <pass>`. */
  dump?: (stage: string, graph: Graph) => void;
  /** Ask rewrite passes why near-matches were refused (notes in the stats). */
  explain?: boolean;
  /** Check the IR's invariants after each pass (on by default; cheap). */
  verify?: boolean;
}

export interface RunResult {
  readonly graph: Graph;
  readonly stats: readonly PassStats[];
}

/** Runs passes in order; returns the final graph and what each pass did. */
export function runPasses(graph: Graph, passes: readonly Pass[], options: RunOptions = {}): RunResult {
  const stats: PassStats[] = [];
  let current = graph;
  for (const pass of passes) {
    const counts: Record<string, number> = {};
    const notes: string[] = [];
    const ctx: PassContext = {
      count: (what, times = 1) => {
        counts[what] = (counts[what] ?? 0) + times;
      },
      explain: options.explain ?? false,
      note: (message) => {
        if (options.explain) notes.push(message);
      },
    };
    options.dump?.(`before ${pass.name}`, current);
    const start = performance.now();
    const next = pass.run(current, ctx);
    const ms = performance.now() - start;
    if (options.verify ?? true) verifyGraph(next, pass.name);
    options.dump?.(`after ${pass.name}`, next);
    stats.push({ pass: pass.name, nodesBefore: current.nodes.length, nodesAfter: next.nodes.length, counts, notes, ms });
    current = next;
  }
  return { graph: current, stats };
}

/** A `dump` callback that writes each stage as printed IR under a header line. */
export function dumpTo(write: (text: string) => void): (stage: string, graph: Graph) => void {
  return (stage, graph) => write(`// ----- ${stage} -----\n${printGraph(graph)}\n`);
}

/** The statistics as a small table, one line a pass. */
export function formatStats(stats: readonly PassStats[]): string {
  return stats
    .map((s) => {
      const counts = Object.entries(s.counts).map(([k, v]) => `${k}=${v}`).join(' ');
      return `${s.pass.padEnd(20)} ${String(s.nodesBefore).padStart(6)} -> ${String(s.nodesAfter).padEnd(6)} ${counts}`.trimEnd();
    })
    .join('\n');
}
