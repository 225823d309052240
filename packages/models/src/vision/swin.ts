/**
 * The Swin Transformer (Liu et al., 2021), as torchvision 0.14's `SwinTransformer`, with its
 * `state_dict` names: 4x4 patches embedded by a strided convolution and kept as (B, H, W, C);
 * stages of blocks that attend inside M x M windows, every second block on windows shifted by
 * M/2 (a cyclic roll, with a mask so that tokens from different regions do not attend to each
 * other); patch merging halves H and W between stages; a pooled head.
 *
 * The shape-only tensors (the relative position index, the shifted-window mask) depend on the
 * window and the feature-map size only; the image size is concrete when the model is traced,
 * so they are computed here on the host and enter the graph as constants.
 */
import { cat, constant, F, hostTensor, type HostTensor, Module, nn, Parameter, type Tensor } from '@tessera/graph-dsl';
import { Buffer } from '../buffers.ts';
import { ConfigError } from '../config.ts';
import { MLPBlock, Permute } from './layers.ts';

export interface SwinConfig {
  readonly patch_size: readonly [number, number];
  readonly embed_dim: number;
  readonly depths: readonly number[];
  readonly num_heads: readonly number[];
  readonly window_size: readonly [number, number];
  readonly mlp_ratio?: number;
  readonly dropout?: number;
  readonly attention_dropout?: number;
  readonly stochastic_depth_prob?: number;
  readonly num_classes?: number;
}

/** torchvision's named sizes. */
export const SWIN_CONFIGS = {
  swin_t: { patch_size: [4, 4], embed_dim: 96, depths: [2, 2, 6, 2], num_heads: [3, 6, 12, 24], window_size: [7, 7], stochastic_depth_prob: 0.2 },
  swin_s: { patch_size: [4, 4], embed_dim: 96, depths: [2, 2, 18, 2], num_heads: [3, 6, 12, 24], window_size: [7, 7], stochastic_depth_prob: 0.3 },
  swin_b: { patch_size: [4, 4], embed_dim: 128, depths: [2, 2, 18, 2], num_heads: [4, 8, 16, 32], window_size: [7, 7], stochastic_depth_prob: 0.5 },
} as const satisfies Record<string, SwinConfig>;

/** A (B, H, W, C) feature map, channels last as torchvision's Swin keeps it. */
export type FeatureMap = Tensor<'float32', 4>;

/** `F.pad` with zeros after the end of `dim` (torchvision pads right and bottom only). */
function padEnd(x: FeatureMap, dim: number, amount: number): FeatureMap {
  if (amount === 0) return x;
  const shape = x.shape.map((d, i) => (i === dim ? amount : d));
  const zeros = constant(x, 0, 'float32').expand(shape) as FeatureMap;
  return cat([x, zeros], dim);
}

/** The relative position index of every token pair of an M0 x M1 window into the ((2M0-1)(2M1-1), heads) table, flattened (torchvision's buffer). */
export function relativePositionIndex([m0, m1]: readonly [number, number]): HostTensor<'int32'> {
  const n = m0 * m1;
  const out = hostTensor('int32', [n * n]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dh = Math.floor(i / m1) - Math.floor(j / m1) + m0 - 1;
      const dw = (i % m1) - (j % m1) + m1 - 1;
      out.data[i * n + j] = dh * (2 * m1 - 1) + dw;
    }
  }
  return out;
}

/** Python's x[start:end] bounds on a dim of size n (end undefined: to the end). */
function pySlice(n: number, start: number, end: number | undefined): [number, number] {
  const norm = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  return [norm(start), end === undefined ? n : norm(end)];
}

/**
 * The shifted-window attention mask, (windows, M*M, M*M): the padded map is labelled in 9
 * regions by slicing H and W at (0:-M, -M:-s, -s:), as torchvision does; a query and a key with
 * different labels get -100, others 0.
 */
export function shiftedWindowMask(padH: number, padW: number, window: readonly [number, number], shift: readonly [number, number]): HostTensor<'float32'> {
  const label = new Int32Array(padH * padW);
  const hs: [number, number | undefined][] = [[0, -window[0]], [-window[0], -shift[0]], [-shift[0], undefined]];
  const ws: [number, number | undefined][] = [[0, -window[1]], [-window[1], -shift[1]], [-shift[1], undefined]];
  let count = 0;
  for (const [h0, h1] of hs) {
    for (const [w0, w1] of ws) {
      const [a, b] = pySlice(padH, h0, h1 === 0 ? 0 : h1);
      const [c, d] = pySlice(padW, w0, w1 === 0 ? 0 : w1);
      for (let y = a; y < b; y++) for (let x = c; x < d; x++) label[y * padW + x] = count;
      count++;
    }
  }
  const [nh, nw] = [padH / window[0], padW / window[1]];
  const n = window[0] * window[1];
  const out = hostTensor('float32', [nh * nw, n, n]);
  const at = (win: number, t: number) => {
    const y = Math.floor(win / nw) * window[0] + Math.floor(t / window[1]);
    const x = (win % nw) * window[1] + (t % window[1]);
    return label[y * padW + x]!;
  };
  for (let win = 0; win < nh * nw; win++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out.data[(win * n + i) * n + j] = at(win, i) === at(win, j) ? 0 : -100;
  }
  return out;
}

/**
 * The image holds a patch, and the window fits in the first stage's map: torchvision pads every
 * map up to the window, so a larger window would attend over mostly padding at a cost (and index
 * and bias tables) quadratic in the window's area, not the image's. Checked before the model is
 * built (the tables are built with it) and when it is traced.
 */
export function checkImageSize([h, w]: readonly [number, number], [ph, pw]: readonly [number, number], [m0, m1]: readonly [number, number]): void {
  if (h < ph || w < pw) throw new ConfigError(`SwinTransformer: the image is ${h}x${w}, smaller than one ${ph}x${pw} patch`);
  const [mh, mw] = [Math.floor(h / ph), Math.floor(w / pw)];
  if (m0 > mh || m1 > mw) throw new ConfigError(`SwinTransformer: window_size ${m0}x${m1} is larger than the first stage's ${mh}x${mw} feature map (image ${h}x${w} in ${ph}x${pw} patches); give a window of at most ${mh}x${mw}, or a larger image`);
}

/** How a block lays its windows on an H x W map (torchvision 0.14): the map padded up to multiples of the window, rolled by -shift, no shift along a dim the window covers. */
export interface WindowLayout {
  readonly padH: number;
  readonly padW: number;
  readonly window: readonly [number, number];
  readonly shift: readonly [number, number];
}

export function windowLayout([H, W]: readonly [number, number], window: readonly [number, number], shiftSize: readonly [number, number]): WindowLayout {
  const [padH, padW] = [H + ((window[0] - (H % window[0])) % window[0]), W + ((window[1] - (W % window[1])) % window[1])];
  return { padH, padW, window, shift: [window[0] >= padH ? 0 : shiftSize[0], window[1] >= padW ? 0 : shiftSize[1]] };
}

/** W-MSA / SW-MSA: multi-head self-attention inside windows, with the relative position bias. */
export class ShiftedWindowAttention extends Module {
  readonly qkv: nn.Linear;
  readonly proj: nn.Linear;
  readonly relative_position_bias_table: Parameter<2>;
  readonly relative_position_index: Buffer;

  constructor(
    readonly dim: number,
    readonly windowSize: readonly [number, number],
    readonly shiftSize: readonly [number, number],
    readonly numHeads: number,
    readonly attentionDropout = 0,
    readonly dropout = 0,
  ) {
    super();
    if (dim % numHeads !== 0) throw new ConfigError(`ShiftedWindowAttention: dim ${dim} is not divisible by num_heads ${numHeads}`);
    this.qkv = new nn.Linear(dim, dim * 3);
    this.proj = new nn.Linear(dim, dim);
    this.relative_position_bias_table = new Parameter([(2 * windowSize[0] - 1) * (2 * windowSize[1] - 1), numHeads], { kind: 'normal', mean: 0, std: 0.02, truncate: 2 });
    this.relative_position_index = new Buffer(relativePositionIndex(windowSize));
  }

  /** The bias added to every window's scores: table[index] as (1, heads, M*M, M*M). */
  relativePositionBias(anchor: Tensor): Tensor<'float32', 4> {
    const n = this.windowSize[0] * this.windowSize[1];
    const index = constant(anchor, Array.from(this.relative_position_index.value.data), 'int32', [n * n]);
    return this.relative_position_bias_table.gather(0, index).reshape([n, n, this.numHeads]).permute(2, 0, 1).unsqueeze(0) as Tensor<'float32', 4>;
  }

  /** x: (B, H, W, C) -> (B, H, W, C). */
  forward(input: FeatureMap): FeatureMap {
    const [B, H, W, C] = input.shape as [FeatureMap['shape'][0], number, number, number];
    const [m0, m1] = this.windowSize;
    if (typeof H !== 'number' || typeof W !== 'number') throw new ConfigError('ShiftedWindowAttention: the feature map size must be concrete');
    const { padH, padW, shift } = windowLayout([H, W], this.windowSize, this.shiftSize);
    let x = padEnd(padEnd(input, 2, padW - W), 1, padH - H);
    const shifted = shift[0] + shift[1] > 0;
    if (shifted) x = x.roll([-shift[0], -shift[1]], [1, 2]);

    // partition into windows: (B * nW, M*M, C)
    const [nh, nw] = [padH / m0, padW / m1];
    const windows = x.reshape([B, nh, m0, nw, m1, C]).permute(0, 1, 3, 2, 4, 5).reshape([-1, m0 * m1, C]);
    const n = m0 * m1;
    const headDim = C / this.numHeads;
    const qkv = this.qkv.forward(windows).reshape([-1, n, 3, this.numHeads, headDim]).permute(2, 0, 3, 1, 4); // (3, B*nW, heads, N, hd)
    const [q, k, v] = [0, 1, 2].map((i) => qkv.slice(0, i, i + 1).squeeze(0) as Tensor<'float32', 4>) as [FeatureMap, FeatureMap, FeatureMap];
    let attn = q.mul(headDim ** -0.5).matmul(k.mT); // (B*nW, heads, N, N)
    attn = attn.add(this.relativePositionBias(attn));
    if (shifted) {
      const mask = shiftedWindowMask(padH, padW, this.windowSize, shift);
      const m = constant(attn, Array.from(mask.data), 'float32', [1, nh * nw, 1, n, n]);
      attn = attn.reshape([B, nh * nw, this.numHeads, n, n]).add(m).reshape([-1, this.numHeads, n, n]) as FeatureMap;
    }
    attn = F.dropout(attn.softmax(-1), this.attentionDropout);
    let y = attn.matmul(v).transpose(1, 2).reshape([-1, n, C]);
    y = F.dropout(this.proj.forward(y), this.dropout);

    // reverse the partition and the shift, drop the padding
    let out = y.reshape([B, nh, nw, m0, m1, C]).permute(0, 1, 3, 2, 4, 5).reshape([B, padH, padW, C]) as FeatureMap;
    if (shifted) out = out.roll([shift[0], shift[1]], [1, 2]);
    if (padH !== H) out = out.slice(1, 0, H);
    if (padW !== W) out = out.slice(2, 0, W);
    return out;
  }
}

/** x + attn(norm1(x)); x + mlp(norm2(x)). Stochastic depth is a training-only identity here. */
export class SwinTransformerBlock extends Module {
  readonly norm1: nn.LayerNorm;
  readonly attn: ShiftedWindowAttention;
  readonly norm2: nn.LayerNorm;
  readonly mlp: MLPBlock;
  constructor(dim: number, numHeads: number, windowSize: readonly [number, number], shiftSize: readonly [number, number], mlpRatio = 4, dropout = 0, attentionDropout = 0) {
    super();
    this.norm1 = new nn.LayerNorm(dim, 1e-5);
    this.attn = new ShiftedWindowAttention(dim, windowSize, shiftSize, numHeads, attentionDropout, dropout);
    this.norm2 = new nn.LayerNorm(dim, 1e-5);
    this.mlp = new MLPBlock(dim, Math.trunc(dim * mlpRatio), dropout);
  }
  forward(x: FeatureMap): FeatureMap {
    const y = x.add(this.attn.forward(this.norm1.forward(x)));
    return y.add(this.mlp.forward(this.norm2.forward(y)) as FeatureMap);
  }
}

/** Concatenates each 2x2 neighbourhood (x0 = [0::2, 0::2], x1 = [1::2, 0::2], x2 = [0::2, 1::2], x3 = [1::2, 1::2]) to 4C, LayerNorm, Linear to 2C. */
export class PatchMerging extends Module {
  readonly reduction: nn.Linear;
  readonly norm: nn.LayerNorm;
  constructor(readonly dim: number) {
    super();
    this.reduction = new nn.Linear(4 * dim, 2 * dim, false);
    this.norm = new nn.LayerNorm(4 * dim, 1e-5);
  }
  forward(input: FeatureMap): FeatureMap {
    const [H, W] = [input.shape[1] as number, input.shape[2] as number];
    const x = padEnd(padEnd(input, 2, W % 2), 1, H % 2);
    const pick = (r: number, c: number) => x.slice(1, r, undefined, 2).slice(2, c, undefined, 2);
    const merged = cat([pick(0, 0), pick(1, 0), pick(0, 1), pick(1, 1)], -1);
    return this.reduction.forward(this.norm.forward(merged));
  }
}

/** A stage: blocks `features.{i}.{j}`, shift 0 on even blocks and M/2 on odd ones. */
export class SwinStage extends nn.Sequential<SwinTransformerBlock> {}

export class SwinTransformer extends Module {
  readonly features: Module[];
  readonly norm: nn.LayerNorm;
  readonly head: nn.Linear;
  readonly numFeatures: number;
  readonly windowSize: readonly [number, number];

  constructor(config: SwinConfig) {
    super();
    const { patch_size: patch, embed_dim: embed, depths, num_heads: heads, window_size: window } = config;
    const fail = (why: string): never => {
      throw new ConfigError(`SwinTransformer: ${why}`);
    };
    if (patch.length !== 2 || window.length !== 2) fail('patch_size and window_size take two numbers (h, w)');
    if (depths.length !== heads.length) fail(`depths (${depths.join(', ')}) and num_heads (${heads.join(', ')}) must have one entry per stage`);
    const features: Module[] = [new nn.Sequential(new nn.Conv2d(3, embed, [patch[0], patch[1]], { stride: [patch[0], patch[1]] }), new Permute([0, 2, 3, 1]), new nn.LayerNorm(embed, 1e-5))];
    depths.forEach((depth, s) => {
      const dim = embed * 2 ** s;
      features.push(new SwinStage(...Array.from({ length: depth }, (_, j) => new SwinTransformerBlock(
        dim, heads[s]!, window, j % 2 === 0 ? [0, 0] : [Math.floor(window[0] / 2), Math.floor(window[1] / 2)], config.mlp_ratio ?? 4, config.dropout ?? 0, config.attention_dropout ?? 0,
      ))));
      if (s < depths.length - 1) features.push(new PatchMerging(dim));
    });
    this.features = features;
    this.windowSize = window;
    this.numFeatures = embed * 2 ** (depths.length - 1);
    this.norm = new nn.LayerNorm(this.numFeatures, 1e-5);
    this.head = new nn.Linear(this.numFeatures, config.num_classes ?? 1000);
  }

  /** image (B, 3, H, W) -> logits (B, classes). */
  forward(image: FeatureMap): Tensor<'float32', 2> {
    const [patchEmbed, ...rest] = this.features as [nn.Sequential, ...Module[]];
    const [ph, pw] = [(patchEmbed.at(0) as nn.Conv2d).weight.shape[2] as number, (patchEmbed.at(0) as nn.Conv2d).weight.shape[3] as number];
    const [h, w] = [image.shape[2], image.shape[3]];
    if (typeof h !== 'number' || typeof w !== 'number') throw new ConfigError('SwinTransformer: the image size must be concrete (set image_size)');
    checkImageSize([h, w], [ph, pw], this.windowSize);
    let x = patchEmbed.forward(image) as FeatureMap; // (B, H/4, W/4, C)
    for (const m of rest) {
      if (m instanceof SwinStage) for (let j = 0; j < m.length; j++) x = (m.at(j) as SwinTransformerBlock).forward(x);
      else x = (m as PatchMerging).forward(x);
    }
    x = this.norm.forward(x);
    return this.head.forward(x.mean([1, 2]) as Tensor<'float32', 2>); // global average pool over H, W
  }
}
