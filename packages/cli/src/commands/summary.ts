import { graphFlops } from '@tessera/compiler';
import { type Dim, dimToString, type Graph, sizeOf, typeToString } from '@tessera/graph-dsl';
import { CATALOG } from '@tessera/models';
import type { PreparedModel } from '../model.ts';

export interface LayerRow {
  readonly path: string;
  readonly type: string;
  readonly depth: number;
  readonly parameters: number;
  /** Type of the last value the layer computed. */
  readonly output: string | undefined;
}

export interface Summary {
  readonly model: string;
  readonly config: Record<string, unknown>;
  readonly inputs: Record<string, string>;
  readonly outputs: Record<string, string>;
  readonly layers: readonly LayerRow[];
  readonly parameters: number;
  readonly flops: string;
}

function lastOutputIn(graph: Graph, path: string): string | undefined {
  const inside = (scope: string) => path === '' || scope === path || scope.startsWith(`${path}.`);
  const node = graph.nodes.findLast((n) => n.source && inside(n.source.scope));
  return node && typeToString(graph.types.get(node.outputs[0]!)!);
}

export function summarize(model: PreparedModel): Summary {
  const { traced, graph } = model;
  const sizes = new Map([...model.weights].map(([k, t]) => [k, sizeOf(t.shape)]));
  const countUnder = (path: string) => [...sizes].filter(([k]) => path === '' || k.startsWith(`${path}.`)).reduce((a, [, n]) => a + n, 0);
  const layers = model.module.namedModules().map(([path, m]) => ({
    path,
    type: m.constructor.name,
    depth: path === '' ? 0 : path.split('.').filter((p) => !/^\d+$/.test(p)).length,
    parameters: countUnder(path),
    output: lastOutputIn(traced, path),
  }));
  const typed = (values: Graph['inputs']) => Object.fromEntries(values.map((v) => [v.name, typeToString(graph.types.get(v.value)!)]));
  const flops: Dim = graphFlops(graph);
  return {
    model: model.name,
    config: { ...model.config },
    inputs: typed(graph.inputs),
    outputs: typed(graph.outputs),
    layers,
    parameters: countUnder(''),
    flops: dimToString(flops),
  };
}

/** Parameter counts as people write them: 86.6M, 12.3K. */
export function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** A FLOP count with its big numbers as people write them: 35240325688*B -> 35.24G*B. */
export function readableFlops(flops: string): string {
  return flops.replace(/\d{4,}/g, (n) => humanCount(Number(n)));
}

const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

export function formatSummary(s: Summary): string {
  const defaults = CATALOG.find((e) => e.name === s.model)?.defaults ?? {};
  const lines = [`${s.model}`, '', 'config (--config key=value ...):'];
  for (const [k, v] of Object.entries(s.config)) lines.push(`  ${k}=${show(v)}${Object.hasOwn(defaults, k) && show(defaults[k]) !== show(v) ? `  (default ${show(defaults[k])})` : ''}`);
  lines.push('', 'inputs:');
  for (const [k, v] of Object.entries(s.inputs)) lines.push(`  ${k}: ${v}`);
  lines.push('outputs:');
  for (const [k, v] of Object.entries(s.outputs)) lines.push(`  ${k}: ${v}`);
  lines.push('', 'layers:');
  const rows = s.layers.map((l) => [`${'  '.repeat(l.depth)}${l.path || '(model)'}`, l.type, l.output ?? '', humanCount(l.parameters)]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) lines.push(`  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`);
  lines.push('', `parameters: ${s.parameters.toLocaleString('en-US')} (${humanCount(s.parameters)})`, `FLOPs: ${readableFlops(s.flops)} (a multiply-add counts 2; torchvision's "GFLOPS" count multiply-adds, half of this)`);
  return lines.join('\n');
}
