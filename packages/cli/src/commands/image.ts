/**
 * `tessera run MODEL --image FILE [--weights W]`: decodes a PNG or JPEG (pure JS), resizes and
 * normalizes it as torchvision's ImageNet presets do (resize the shorter side, center crop,
 * mean/std), runs the model and prints the top-5 classes, with ImageNet labels when the head
 * has 1000 classes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type HostTensor, hostTensor, typeToString } from '@tessera/graph-dsl';
import { initBackendInfo, Session } from '@tessera/runtime-tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { type Args, expectOptions, option, UsageError } from '../args.ts';
import { prepareModel, withOverrides } from '../model.ts';
import { isModelFile } from '../model-file.ts';

const LABELS = createRequire(import.meta.url)('../imagenet-labels.json') as string[];

export class ImageError extends Error {
  override name = 'ImageError';
}

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** RGBA, 8 bits a channel, row-major. */
  readonly data: Uint8Array;
}

/** PNG or JPEG by their signatures; anything else, or a file the decoder rejects, is an ImageError naming the file. */
/** Images above this many pixels are refused before decoding (a 20000x20000 PNG of 1 MB decodes to 1.6 GB); `--max-pixels` raises it. */
export const MAX_PIXELS = 50_000_000;

/** Width and height from a PNG's IHDR or a JPEG's start-of-frame marker, without decoding; undefined where the header is cut short. */
export function imageSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] === 0x89) return bytes.length >= 24 ? { width: view.getUint32(16), height: view.getUint32(20) } : undefined;
  // JPEG: walk the marker segments to a SOFn (C0-CF but C4 DHT, C8 JPG, CC DAC)
  for (let at = 2; at + 9 < bytes.length; ) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
    at += 2 + view.getUint16(at + 2);
  }
  return undefined;
}

export function decodeImage(bytes: Uint8Array, source: string, maxPixels = MAX_PIXELS): RgbImage {
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
  if (!isPng && !isJpeg) throw new ImageError(`cannot decode ${source}: it is neither a PNG nor a JPEG (first bytes ${Array.from(bytes.slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  const kind = isPng ? 'PNG' : 'JPEG';
  const size = imageSize(bytes);
  if (!size) throw new ImageError(`cannot decode ${source} as ${kind}: the file is cut short before its size`);
  if (size.width === 0 || size.height === 0) throw new ImageError(`${source} is a ${size.width}x${size.height} ${kind}: it has no pixels`);
  if (size.width * size.height > maxPixels) throw new ImageError(`${source} is ${size.width}x${size.height} (${(size.width * size.height / 1e6).toFixed(0)} megapixels), above the limit of ${(maxPixels / 1e6).toFixed(0)} megapixels; raise it with --max-pixels if you mean it`);
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes));
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    return { width: img.width, height: img.height, data: img.data };
  } catch (e) {
    const message = (e as Error).message;
    // pngjs's words for a file that ends early
    const why = /read requests waitng|unexpected end|not enough data|premature end/i.test(message) ? 'the file is truncated' : message;
    throw new ImageError(`cannot decode ${source} as ${kind}: ${why}`);
  }
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

export async function imageCommand(args: Args, log: (line: string) => void): Promise<string> {
  expectOptions(args, ['image', 'weights', 'config', 'backend', 'max-pixels']);
  const maxText = option(args, 'max-pixels');
  const maxPixels = maxText === undefined ? MAX_PIXELS : Number(maxText);
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) throw new UsageError(`--max-pixels ${maxText}: expected a whole number of pixels`);
  const name = args.positional[0];
  if (!name) throw new UsageError('tessera run needs a MODEL (see tessera list)');
  if (isModelFile(name)) throw new UsageError(`tessera run --image classifies with a catalog vision model (its preprocessing is torchvision's); give ${name} its input with --inputs`);
  const file = option(args, 'image')!;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new ImageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const image = decodeImage(bytes, file, maxPixels);
  const model = await prepareModel(name, withOverrides(['batch=1'], args.options.get('config') ?? []), option(args, 'weights'));
  // one (1, 3, H, W) input of known size: anything else (attention's query, key, value of symbolic lengths) takes no image
  const takes = model.graph.inputs.map((i) => `${i.name}: ${typeToString(model.graph.types.get(i.value)!)}`).join(', ');
  const [input, ...others] = model.graph.inputs;
  const dims = model.graph.types.get(input!.value)!.shape;
  if (others.length > 0 || dims.length !== 4 || dims[1] !== 3 || !dims.every((d) => typeof d === 'number')) {
    throw new UsageError(`tessera run --image: model '${name}' does not take an image (one input of shape (1, 3, H, W)); its inputs are ${takes}: give them with --inputs FILE.safetensors`);
  }
  const shape = dims as readonly number[];
  const [ch, cw] = [shape[2]!, shape[3]!];
  const base = PRESETS[name] ?? { resize: Math.round((Math.min(ch, cw) * 256) / 224), crop: Math.min(ch, cw), interpolation: 'bilinear' as const };
  const preset = { ...base, resize: Math.round((base.resize * Math.max(ch, cw)) / base.crop), crop: Math.max(ch, cw) };
  const pixels = preprocess(image, preset, [ch, cw]);
  const backend = await initBackendInfo((option(args, 'backend') ?? 'auto') as never);
  log(backend.reason);
  const session = await Session.create(model.graph, { weights: model.weights });
  let logits: HostTensor;
  try {
    const out = await session.run({ [input!.name]: pixels });
    logits = Object.values(out)[0]!;
  } finally {
    session.dispose();
  }
  const classes = logits.shape.at(-1)!;
  const labels = classes === 1000 ? LABELS : undefined;
  const rows = topK(logits.data as Float32Array, Math.min(5, classes)).map(
    (r, i) => `${i + 1}. ${(r.probability * 100).toFixed(2).padStart(6)}%  ${labels ? labels[r.index] : `class ${r.index}`} (${r.index})`,
  );
  const note = model.weightsSource.startsWith('initial') ? ' (no --weights: random initial weights, the classes mean nothing)' : '';
  return [`${name} on ${file} (${image.width}x${image.height} -> ${cw}x${ch}, resize ${preset.resize} ${preset.interpolation}, center crop) with weights ${model.weightsSource}${note}:`, ...rows].join('\n');
}
