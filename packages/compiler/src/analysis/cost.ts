import { addDims, attentionShapes, type Dim, divDims, type Graph, mulDims, type Node, type NodeOf, numElements, type OpName, type TensorType, typeOf } from '@tessera/graph-dsl';

/** Floating-point operations of one node, counting a multiply-add as 2, as a (possibly symbolic) dim. */
type CostRule = (node: Node, graph: Graph) => Dim;

const outputElements: CostRule = (node, graph) => numElements(typeOf(graph, node.outputs[0]!).shape);
const inputElements: CostRule = (node, graph) => numElements(typeOf(graph, node.inputs[0]!).shape);
const free: CostRule = () => 0;
const perElement = (n: number): CostRule => (node, graph) => mulDims(outputElements(node, graph), n);

const RULES: Record<OpName, CostRule> = {
  Neg: outputElements, Abs: outputElements, Exp: outputElements, Log: outputElements, Sqrt: outputElements,
  Tanh: outputElements, Erf: outputElements, Relu: outputElements, Sigmoid: outputElements, Sin: outputElements,
  Cos: outputElements, Not: outputElements, Add: outputElements, Sub: outputElements, Mul: outputElements,
  Div: outputElements, Pow: outputElements, Maximum: outputElements, Minimum: outputElements, And: outputElements,
  Or: outputElements, Equal: outputElements, Less: outputElements, LessEqual: outputElements, Greater: outputElements,
  GreaterEqual: outputElements, Where: outputElements, Cast: free,
  MatMul: (node, graph) => {
    const a = typeOf(graph, node.inputs[0]!).shape;
    return mulDims(mulDims(numElements(typeOf(graph, node.outputs[0]!).shape), a[a.length - 1]!), 2);
  },
  Reshape: free, Transpose: free, Concat: free, Slice: free, Gather: free, Roll: free, Expand: free,
  ReduceSum: inputElements, ReduceMean: inputElements, ReduceMax: inputElements,
  // max, subtract, exp, sum, divide
  Softmax: perElement(5),
  // mean, subtract, square, mean, rsqrt, scale, shift
  LayerNorm: perElement(7),
  // the add, then LayerNorm's seven
  AddLayerNorm: perElement(8),
  Conv2d: (node, graph) => {
    const w = typeOf(graph, node.inputs[1]!).shape;
    return mulDims(mulDims(numElements(typeOf(graph, node.outputs[0]!).shape), numElements(w.slice(1))), 2);
  },
  Dropout: free, Range: free, Constant: free, WindowPartition: free, WindowReverse: free, Pad: free,
  // a multiply-add per tap: 2 (rows) + 2 (columns) for bilinear, 4 + 4 for bicubic
  Interpolate: (node, graph) => perElement((node as NodeOf<'Interpolate'>).attrs.mode === 'bilinear' ? 8 : 16)(node, graph),
  // erf, and four elementwise steps around it
  Gelu: perElement(5),
  Linear: (node, graph) => {
    const w = typeOf(graph, node.inputs[1]!).shape;
    return mulDims(mulDims(numElements(typeOf(graph, node.outputs[0]!).shape), w[1]!), 2);
  },
  // Q K^T and P V as matmuls, the scores scaled and soft-maxed
  Attention: (node, graph) => {
    const [q, k, v] = [0, 1, 2].map((i) => typeOf(graph, node.inputs[i]!)) as [TensorType, TensorType, TensorType];
    const { numHeads } = (node as NodeOf<'Attention'>).attrs;
    const { scores } = attentionShapes(q, k, v, numHeads);
    const perHead = (t: TensorType) => divDims(t.shape[t.shape.length - 1]!, Math.max(numHeads, 1));
    return mulDims(numElements(scores), addDims(mulDims(addDims(perHead(q), perHead(v)), 2), 6));
  },
};

export function nodeFlops(node: Node, graph: Graph): Dim {
  return RULES[node.op](node, graph);
}

export function graphFlops(graph: Graph): Dim {
  return graph.nodes.reduce<Dim>((total, node) => addDims(total, nodeFlops(node, graph)), 0);
}
