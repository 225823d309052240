/**
 * A graph laid out as a picture (dagre, top to bottom): one box a node with its op, output type
 * and where it was written, one box for each graph input and output, an edge for each value a
 * node reads from another node or an input (parameters and constants are not drawn).
 */
import dagre, { type Edge } from '@dagrejs/dagre';
import { type Graph, typeToString, typeOf } from '@tessera/graph-dsl';

export interface Box {
  readonly id: string;
  readonly kind: 'input' | 'op' | 'output';
  /** Centre, width and height, in the picture's units (CSS pixels at zoom 1). */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** The op (or the input's or output's name), the output type, and where it was written. */
  readonly lines: readonly string[];
}

export interface Layout {
  readonly boxes: readonly Box[];
  readonly edges: readonly (readonly { x: number; y: number }[])[];
  readonly width: number;
  readonly height: number;
}

/** Past this many boxes the layout takes long enough to freeze the page: the view says so instead. */
export const MAX_BOXES = 1500;

const CHAR_WIDTH = 7.3;
const LINE_HEIGHT = 15;
const PADDING = 8;

/**
 * Where a node was written: its module path, and the file's base name and line when it is a
 * source file (in the built page a catalog model's line is a chunk's until source-lines.ts maps it).
 */
function whereText(source: Graph['nodes'][number]['source']): string {
  if (!source) return '';
  const file = source.file.split(/[\\/]/).at(-1)!.replace(/\?.*$/, '');
  return [source.scope, /\.m?ts$/.test(file) ? `${file}:${source.line}` : ''].filter((s) => s !== '').join(' · ');
}

export function layoutGraph(graph: Graph): Layout {
  const g = new dagre.graphlib.Graph<object, { width: number; height: number; x: number; y: number; kind: Box['kind']; lines: string[] }, { points: { x: number; y: number }[] }>();
  g.setGraph({ rankdir: 'TB', nodesep: 18, ranksep: 28, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({ points: [] }));
  const box = (id: string, kind: Box['kind'], lines: string[]) => {
    const texts = lines.filter((l) => l !== '');
    g.setNode(id, { kind, lines: texts, width: Math.max(...texts.map((l) => l.length)) * CHAR_WIDTH + 2 * PADDING, height: texts.length * LINE_HEIGHT + PADDING, x: 0, y: 0 });
  };
  const producer = new Map<number, string>();
  for (const input of graph.inputs) {
    box(`in:${input.name}`, 'input', [input.name, typeToString(typeOf(graph, input.value))]);
    producer.set(input.value, `in:${input.name}`);
  }
  graph.nodes.forEach((node, i) => {
    const id = `n${i}`;
    box(id, 'op', [node.op, node.outputs.map((o) => typeToString(typeOf(graph, o))).join(', '), whereText(node.source)]);
    for (const v of node.inputs) if (v !== null && producer.has(v)) g.setEdge(producer.get(v)!, id);
    for (const o of node.outputs) producer.set(o, id);
  });
  for (const output of graph.outputs) {
    box(`out:${output.name}`, 'output', [output.name, typeToString(typeOf(graph, output.value))]);
    if (producer.has(output.value)) g.setEdge(producer.get(output.value)!, `out:${output.name}`);
  }
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph() as { width?: number; height?: number };
  return {
    boxes: g.nodes().map((id: string) => {
      const { x, y, width: w, height: h, kind, lines } = g.node(id);
      return { id, kind, x, y, width: w, height: h, lines };
    }),
    edges: g.edges().map((e: Edge) => g.edge(e).points),
    width,
    height,
  };
}

/** How many boxes a graph's picture has. */
export const boxCount = (graph: Graph): number => graph.inputs.length + graph.nodes.length + graph.outputs.length;
