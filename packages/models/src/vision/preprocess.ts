/**
 * torchvision's ImageClassification preprocessing of an RGBA image (PIL's 8-bit resize, center
 * crop, ImageNet normalization) and the top-k classes of logits: what `tessera run --image` and
 * the playground classify with. No Node.js built-ins: the playground bundles it.
 */
import { type Graph, type HostTensor, hostTensor } from '@tessera/graph-dsl';

export class ImageError extends Error {
  override name = 'ImageError';
}

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** RGBA, 8 bits a channel, row-major. */
  readonly data: Uint8Array;
}

export type Interpolation = 'bilinear' | 'bicubic';

/** torchvision's ImageClassification preset of each model's IMAGENET1K_V1 weights. */
export interface Preset {
  readonly resize: number;
  readonly crop: number;
  readonly interpolation: Interpolation;
}
export const PRESETS: Readonly<Record<string, Preset>> = {
  vit_b_16: { resize: 256, crop: 224, interpolation: 'bilinear' },
  vit_b_32: { resize: 256, crop: 224, interpolation: 'bilinear' },
  vit_l_16: { resize: 242, crop: 224, interpolation: 'bilinear' },
  vit_l_32: { resize: 256, crop: 224, interpolation: 'bilinear' },
  vit_h_14: { resize: 518, crop: 518, interpolation: 'bicubic' },
  swin_t: { resize: 232, crop: 224, interpolation: 'bicubic' },
  swin_s: { resize: 246, crop: 224, interpolation: 'bicubic' },
  swin_b: { resize: 238, crop: 224, interpolation: 'bicubic' },
};

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** PIL's filters: support and weight. */
const FILTERS: Record<Interpolation, { support: number; weight: (x: number) => number }> = {
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
};

/** PIL's 8-bit resampling works in fixed point: weights scaled by 2^22, sums rounded and clipped to 0..255 after each pass. */
const PRECISION_BITS = 32 - 8 - 2;

/** One axis of PIL's antialiased resampling (Resample.c's precompute_coeffs): for each output pixel, the input pixels and fixed-point weights. */
function resampleAxis(inSize: number, outSize: number, filter: Interpolation): { start: number; weights: number[] }[] {
  const { support, weight } = FILTERS[filter];
  const scale = inSize / outSize;
  const fscale = Math.max(scale, 1);
  const reach = support * fscale;
  return Array.from({ length: outSize }, (_, o) => {
    const center = (o + 0.5) * scale;
    // C's (int) truncates toward zero
    const start = Math.max(0, Math.trunc(center - reach + 0.5));
    const end = Math.min(inSize, Math.trunc(center + reach + 0.5));
    const w = Array.from({ length: end - start }, (_, k) => weight((start + k - center + 0.5) / fscale));
    const sum = w.reduce((a, b) => a + b, 0);
    return { start, weights: w.map((v) => Math.trunc((sum === 0 ? v : v / sum) * 2 ** PRECISION_BITS + (v < 0 ? -0.5 : 0.5))) };
  });
}

/** A fixed-point sum back to a byte, as PIL's clip8 (the sum starts at half a unit, so this rounds). */
function clip8(sum: number): number {
  return Math.min(255, Math.max(0, Math.floor(sum / 2 ** PRECISION_BITS)));
}

/**
 * Resize so the shorter side is `preset.resize` (the longer keeps the aspect ratio, truncated as
 * torchvision does), center crop to `crop` x `crop`, scale to [0, 1], normalize with ImageNet's
 * mean and std: (1, 3, crop, crop) float32.
 */
export function preprocess(img: RgbImage, preset: Preset, cropSize: readonly [number, number] = [preset.crop, preset.crop]): HostTensor<'float32'> {
  const short = Math.min(img.width, img.height);
  const [w, h] = img.width <= img.height ? [preset.resize, Math.trunc((preset.resize * img.height) / short)] : [Math.trunc((preset.resize * img.width) / short), preset.resize];
  const cols = resampleAxis(img.width, w, preset.interpolation);
  const rows = resampleAxis(img.height, h, preset.interpolation);
  // horizontal pass, then vertical, each to bytes as PIL does
  const half = 2 ** (PRECISION_BITS - 1);
  const tmp = new Uint8Array(img.height * w * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < w; x++) {
      const { start, weights } = cols[x]!;
      for (let c = 0; c < 3; c++) {
        let s = half;
        for (let k = 0; k < weights.length; k++) s += weights[k]! * img.data[(y * img.width + start + k) * 4 + c]!;
        tmp[(y * w + x) * 3 + c] = clip8(s);
      }
    }
  }
  const [ch, cw] = cropSize;
  if (ch > h || cw > w) throw new ImageError(`the resized image (${w}x${h}) is smaller than the crop (${cw}x${ch})`);
  const [top, left] = [centerCropOffset(h, ch), centerCropOffset(w, cw)];
  const out = hostTensor('float32', [1, 3, ch, cw]);
  for (let y = 0; y < ch; y++) {
    const { start, weights } = rows[top + y]!;
    for (let x = 0; x < cw; x++) {
      for (let c = 0; c < 3; c++) {
        let s = half;
        for (let k = 0; k < weights.length; k++) s += weights[k]! * tmp[((start + k) * w + left + x) * 3 + c]!;
        const v = clip8(s) / 255;
        out.data[(c * ch + y) * cw + x] = (v - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
      }
    }
  }
  return out;
}

/** The model's (1, 3, H, W) input as the RGBA image it shows (the normalization undone, to bytes): what the crop the model saw looks like. */
export function inputImage(pixels: HostTensor<'float32'>): RgbImage {
  const [, , height, width] = pixels.shape as [number, number, number, number];
  const data = new Uint8Array(width * height * 4).fill(255);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < width * height; i++) data[i * 4 + c] = Math.round(Math.min(1, Math.max(0, pixels.data[c * width * height + i]! * IMAGENET_STD[c]! + IMAGENET_MEAN[c]!)) * 255);
  }
  return { width, height, data };
}

export function topK(logits: Float32Array, k: number): { index: number; probability: number }[] {
  const max = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps
    .map((e, index) => ({ index, probability: e / sum }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}

/**
 * torchvision's CenterCrop offset, `int(round((size - crop) / 2.0))`: Python rounds halves to the
 * even neighbour (a 4:3 photo resized to 309 for Swin-T's 224 crop starts at 42, not 43).
 */
export function centerCropOffset(size: number, crop: number): number {
  const x = (size - crop) / 2;
  const floor = Math.floor(x);
  if (x - floor !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** A model's image input: its only input, of shape (1 or B, 3, H, W) with H and W known; undefined when the model takes no image. */
export function imageInput(graph: Graph): { readonly name: string; readonly height: number; readonly width: number } | undefined {
  const [input, ...others] = graph.inputs;
  const dims = input && graph.types.get(input.value)!.shape;
  if (!dims || others.length > 0 || dims.length !== 4 || dims[1] !== 3 || typeof dims[2] !== 'number' || typeof dims[3] !== 'number') return undefined;
  return { name: input!.name, height: dims[2], width: dims[3] };
}

/** The model's torchvision preset scaled to its input size (a model without one: resize by 256/224, bilinear). */
export function presetFor(model: string, height: number, width: number): Preset {
  const base = PRESETS[model] ?? { resize: Math.round((Math.min(height, width) * 256) / 224), crop: Math.min(height, width), interpolation: 'bilinear' as const };
  return { ...base, resize: Math.round((base.resize * Math.max(height, width)) / base.crop), crop: Math.max(height, width) };
}
