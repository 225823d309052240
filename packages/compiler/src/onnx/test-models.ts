/** Small models written in the DSL for the exporter's tests; together they use every IR op. */
import { arange, cat, constant, F, type Graph, Module, nn, type Tensor, trace, where } from '@tessera/graph-dsl';
import { compile } from '../compile.ts';

/** A transformer-style block: LayerNorm, Linear, exact GELU (erf), residual, softmax; dropout in between. */
export class MlpBlock extends Module {
  readonly norm = new nn.LayerNorm(8);
  readonly fc1 = new nn.Linear(8, 16);
  readonly drop = new nn.Dropout(0.1);
  readonly fc2 = new nn.Linear(16, 8);
  forward(x: Tensor<'float32', 3>) {
    const h = this.drop.forward(F.gelu(this.fc1.forward(this.norm.forward(x))));
    return x.add(this.fc2.forward(h)).softmax(-1);
  }
}

export function mlpBlock(): Graph {
  return trace(new MlpBlock(), { x: { dtype: 'float32', shape: ['B', 'T', 8] } });
}

/**
 * Softmax over keys with a per-batch key length: positions from Range to the symbolic key count S,
 * Less against the lengths, Where; a flatten to [B*T, S] and back, and an Expand of the mask, all
 * with shapes only known at run time.
 */
export class MaskedSoftmax extends Module {
  forward(scores: Tensor<'float32', 3>, lengths: Tensor<'int32', 1>) {
    const S = scores.size(2);
    const positions = arange(scores, S) as Tensor<'int32', 1>;
    const mask = positions.reshape([1, 1, S]).lt(lengths.reshape(['B', 1, 1])) as Tensor<'bool', 3>;
    const full = mask.expand(['B', 'T', S]);
    const flat = where(full, scores, -1e9).reshape([-1, S]);
    return flat.softmax(-1).reshape(['B', 'T', S]);
  }
}

export function maskedSoftmax(): Graph {
  return trace(new MaskedSoftmax(), { scores: { dtype: 'float32', shape: ['B', 'T', 'S'] }, lengths: { dtype: 'int32', shape: ['B'] } });
}

/** A strided, padded convolution followed by a grouped one without bias, then ReLU. */
export class ConvNet extends Module {
  readonly conv1 = new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1 });
  readonly conv2 = new nn.Conv2d(6, 6, [3, 2], { groups: 3, padding: [1, 0], bias: false });
  forward(x: Tensor<'float32', 4>) {
    return this.conv2.forward(this.conv1.forward(x).relu());
  }
}

export function convNet(): Graph {
  return trace(new ConvNet(), { x: { dtype: 'float32', shape: ['N', 4, 7, 9] } });
}

/** Data movement and reductions, each a named output. */
export class Structural extends Module {
  readonly table = new nn.Embedding(10, 6);
  forward(x: Tensor<'float32', 3>, idx: Tensor<'int32', 1>) {
    return {
      rolled: x.roll([1, -2], [1, 2]),
      rolledBatch: x.roll(-1, 0),
      stepped: x.slice(2, 1, undefined, 2),
      reversed: x.slice(1, -1, undefined, -1),
      steppedBack: x.slice(2, 4, 0, -2),
      window: x.slice(1, 1, 3),
      gathered: x.gather(2, idx),
      embedded: this.table.forward(idx),
      broadcast: x.slice(1, 0, 1).expand([2, 'B', 4, 6]),
      expandedBatch: x.sum(0, true).expand(['B', 4, 6]),
      joined: cat([x, x.mul(2)], 1),
      stacked: cat([x, x], 0),
      sum: x.sum(2),
      mean: x.mean([1, 2], true),
      max: x.amax(1),
      nothing: x.sum([]),
      same: x,
    };
  }
}

export function structural(): Graph {
  return trace(new Structural(), { x: { dtype: 'float32', shape: ['B', 4, 6] }, idx: { dtype: 'int32', shape: [3] } });
}

/** Every elementwise op, comparisons, logic, casts, and integer arithmetic. */
export class Elementwise extends Module {
  forward(x: Tensor<'float32', 2>, y: Tensor<'float32', 2>, k: Tensor<'int32', 2>) {
    const pos = x.abs().add(0.5);
    const big = x.gt(y);
    const either = big.logicalOr(x.lt(0)).logicalAnd(y.ge(-0.5).logicalNot());
    return {
      unary: x.neg().add(pos.log()).add(pos.sqrt()).add(x.exp()).add(x.tanh()).add(x.relu()).add(x.sigmoid()).add(x.sin()).add(x.cos()).add(x.erf()),
      binary: x.sub(y).mul(y).div(pos).add(pos.pow(y)).add(x.maximum(y)).add(x.minimum(y)).add(pos.pow(2)),
      compare: where(either, x, y).add(x.eq(y).to('float32')).add(x.le(y).to('float32')).add(where(big, 1, 0)),
      ints: k.mul(3).sub(k.abs()).add(k.neg()).add(x.mul(4).to('int32')).maximum(k.minimum(2)),
      intCompare: k.eq(2).logicalOr(k.lt(-1)),
      sigmoid: x.sigmoid(),
    };
  }
}

export function elementwise(): Graph {
  return trace(new Elementwise(), { x: { dtype: 'float32', shape: ['R', 5] }, y: { dtype: 'float32', shape: ['R', 5] }, k: { dtype: 'int32', shape: ['R', 5] } });
}

/**
 * A shifted-window attention block, as Swin writes it, compiled with the fusions: WindowPartition,
 * Linear, Attention with a bias and a probabilities output, Gelu, WindowReverse, AddLayerNorm; and a causal
 * Attention from F.scaledDotProductAttention with a boolean mask.
 */
export class WindowBlock extends Module {
  readonly qkv = new nn.Linear(8, 24);
  readonly fc = new nn.Linear(8, 8);
  readonly norm = new nn.LayerNorm(8);
  forward(x: Tensor<'float32', 4>, keep: Tensor<'bool', 2>) {
    const B = x.size(0);
    const windows = x.roll([-1, -1], [1, 2]).reshape([B, 2, 2, 2, 2, 8]).permute(0, 1, 3, 2, 4, 5).reshape([-1, 4, 8]);
    const [q, k, v] = [0, 1, 2].map((i) => this.qkv.forward(windows).slice(2, 8 * i, 8 * (i + 1)).reshape([-1, 4, 2, 4]).transpose(1, 2)) as [Tensor<'float32', 4>, Tensor<'float32', 4>, Tensor<'float32', 4>];
    const bias = constant(x, Array.from({ length: 32 }, (_, i) => Math.sin(i)), 'float32', [1, 2, 4, 4]);
    const probs = q.mul(0.5).matmul(k.mT).add(bias).softmax(-1);
    const heads = probs.matmul(v).transpose(1, 2).reshape([-1, 4, 8]);
    const map = F.gelu(this.fc.forward(heads)).reshape([B, 2, 2, 2, 2, 8]).permute(0, 1, 3, 2, 4, 5).reshape([B, 4, 4, 8]).roll([1, 1], [1, 2]);
    const causal = F.scaledDotProductAttention(x.reshape([B, 16, 8]), x.reshape([B, 16, 8]), x.reshape([B, 16, 8]), { attnMask: keep, isCausal: true });
    return { map: this.norm.forward(x.add(map)), probs: probs.mean(1), causal };
  }
}

export function windowBlock(): Graph {
  const traced = trace(new WindowBlock(), { x: { dtype: 'float32', shape: ['B', 4, 4, 8] }, keep: { dtype: 'bool', shape: [16, 16] } });
  return compile(traced).graph;
}

/** PyTorch's tensor methods that compose Slice, Reshape and Where, and the two ops F.pad and F.interpolate add. */
export class TensorMethods extends Module {
  forward(x: Tensor<'float32', 3>, image: Tensor<'float32', 4>) {
    const chunks = x.chunk(4, 1);
    const [first, rest] = x.split([1, 5], 1);
    return {
      chunkLast: chunks[chunks.length - 1]!,
      splitFirst: first!,
      splitRest: rest!,
      unbound: x.unbind(2)[3]!,
      selected: x.select(1, -1),
      narrowed: x.narrow(1, 2, 3),
      filled: x.maskedFill(x.gt(0.5), -1),
      viewed: x.view('B', 3, 8),
      padded: F.pad(x, [1, 2, -1, 0]),
      intPadded: F.pad(x.mul(4).to('int32'), [0, 0, 0, 0, 1, 0], 'constant', 7),
      bilinear: F.interpolate(image, { size: [8, 3], mode: 'bilinear' }),
      bicubic: F.interpolate(image, { scaleFactor: 1.5, mode: 'bicubic' }),
      bicubicCorners: F.interpolate(image, { size: [3, 9], mode: 'bicubic', alignCorners: true }),
      // 5x7 at 1.1 stays 5x7: torch's bilinear copies an axis whose size the factor keeps
      bilinearKept: F.interpolate(image, { scaleFactor: 1.1, mode: 'bilinear' }),
    };
  }
}

export function tensorMethods(): Graph {
  return trace(new TensorMethods(), { x: { dtype: 'float32', shape: ['B', 6, 4] }, image: { dtype: 'float32', shape: ['N', 2, 5, 7] } });
}

export const TEST_MODELS = { mlpBlock, maskedSoftmax, convNet, structural, elementwise, windowBlock, tensorMethods } as const;
