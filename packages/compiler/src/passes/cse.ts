import { dimToString, type Graph, type HostTensor, type Node, opDef, SymDim } from '@tessera/graph-dsl';
import { GraphEditor } from '../edit.ts';
import type { Pass, PassContext } from '../pass.ts';
import { COMMUTATIVE } from '../rewrite.ts';

function isHostTensor(v: unknown): v is HostTensor {
  return typeof v === 'object' && v !== null && 'data' in v && 'shape' in v && 'dtype' in v && ArrayBuffer.isView((v as HostTensor).data);
}

function bytes(t: HostTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Deep equality of attribute values: dims by canonical form, constant tensors by dtype, shape and bytes. */
export function attrsEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof SymDim || b instanceof SymDim) return a instanceof SymDim && b instanceof SymDim && dimToString(a) === dimToString(b);
  if (isHostTensor(a) || isHostTensor(b)) {
    if (!isHostTensor(a) || !isHostTensor(b) || a.dtype !== b.dtype || !attrsEqual(a.shape, b.shape)) return false;
    const [x, y] = [bytes(a), bytes(b)];
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => attrsEqual(v, b[i]));
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => attrsEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

/** A cheap hash of attribute values, equal for equal attrs; tensors hash by a sample of their bytes. */
function attrsKey(v: unknown): string {
  if (v instanceof SymDim) return `d:${dimToString(v)}`;
  if (isHostTensor(v)) {
    const b = bytes(v);
    let h = 0x811c9dc5;
    const stride = Math.max(1, Math.floor(b.length / 4096));
    for (let i = 0; i < b.length; i += stride) h = Math.imul(h ^ b[i]!, 0x01000193);
    return `t:${v.dtype}[${v.shape.join(',')}]#${h >>> 0}`;
  }
  if (Array.isArray(v)) return `[${v.map(attrsKey).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => `${k}:${attrsKey(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

/**
 * Common-subexpression elimination: a node with the same op, equal attributes (dims and constant
 * contents included) and the same inputs as an earlier one is dropped, and its uses read the
 * earlier node's outputs. Commutative ops match with their operands in either order. Impure ops
 * (Dropout) never merge: two dropouts of one tensor draw different masks.
 */
export function cse(): Pass {
  return {
    name: 'cse',
    run(graph: Graph, ctx: PassContext): Graph {
      const editor = new GraphEditor(graph, 'cse');
      const seen = new Map<string, { node: Node; outputs: number[] }[]>();
      for (const node of graph.nodes) {
        if (opDef(node.op).impure) {
          editor.copy(node);
          continue;
        }
        const inputs = editor.inputsOf(node);
        const operands = COMMUTATIVE.has(node.op) ? [...inputs].sort((a, b) => (a ?? -1) - (b ?? -1)) : inputs;
        const key = `${node.op}(${operands.join(',')})${attrsKey(node.attrs)}`;
        const bucket = seen.get(key) ?? [];
        const same = bucket.find((c) => attrsEqual(c.node.attrs, node.attrs));
        if (same) {
          node.outputs.forEach((o, i) => editor.replace(o, same.outputs[i]!));
          ctx.count('merged');
          continue;
        }
        bucket.push({ node, outputs: editor.copy(node) });
        seen.set(key, bucket);
      }
      return editor.finish();
    },
  };
}
