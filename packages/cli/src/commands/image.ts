/**
 * `tessera run MODEL --image FILE [--weights W]`: decodes a PNG or JPEG (pure JS), resizes and
 * normalizes it as torchvision's ImageNet presets do (resize the shorter side, center crop,
 * mean/std), runs the model and prints the top-5 classes, with ImageNet labels when the head
 * has 1000 classes.
 */
import { readFileSync } from 'node:fs';
import { type HostTensor, typeToString } from '@tessera/graph-dsl';
import { IMAGENET_LABELS, ImageError, imageInput, preprocess, presetFor, type RgbImage, topK } from '@tessera/models';
import { initBackendInfo, Session } from '@tessera/runtime-tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { type Args, expectOptions, option, UsageError } from '../args.ts';
import { prepareModel, withOverrides } from '../model.ts';
import { isModelFile } from '../model-file.ts';

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

/** A PNG or JPEG file, decoded; an ImageError names the file it cannot read or decode. */
export function readImage(file: string, maxPixels = MAX_PIXELS): RgbImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new ImageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return decodeImage(bytes, file, maxPixels);
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
  const image = readImage(file, maxPixels);
  const model = await prepareModel(name, withOverrides(['batch=1'], args.options.get('config') ?? []), option(args, 'weights'));
  // one (1, 3, H, W) input of known size: anything else (attention's query, key, value of symbolic lengths) takes no image
  const input = imageInput(model.graph);
  if (!input) {
    const takes = model.graph.inputs.map((i) => `${i.name}: ${typeToString(model.graph.types.get(i.value)!)}`).join(', ');
    throw new UsageError(`tessera run --image: model '${name}' does not take an image (one input of shape (1, 3, H, W)); its inputs are ${takes}: give them with --inputs FILE.safetensors`);
  }
  const [ch, cw] = [input.height, input.width];
  const preset = presetFor(name, ch, cw);
  const pixels = preprocess(image, preset, [ch, cw]);
  const backend = await initBackendInfo((option(args, 'backend') ?? 'auto') as never);
  log(backend.reason);
  const session = await Session.create(model.graph, { weights: model.weights });
  let logits: HostTensor;
  try {
    const out = await session.run({ [input.name]: pixels });
    logits = Object.values(out)[0]!;
  } finally {
    session.dispose();
  }
  const classes = logits.shape.at(-1)!;
  const labels = classes === 1000 ? IMAGENET_LABELS : undefined;
  const rows = topK(logits.data as Float32Array, Math.min(5, classes)).map(
    (r, i) => `${i + 1}. ${(r.probability * 100).toFixed(2).padStart(6)}%  ${labels ? labels[r.index] : `class ${r.index}`} (${r.index})`,
  );
  const note = model.weightsSource.startsWith('initial') ? ' (no --weights: random initial weights, the classes mean nothing)' : '';
  return [`${name} on ${file} (${image.width}x${image.height} -> ${cw}x${ch}, resize ${preset.resize} ${preset.interpolation}, center crop) with weights ${model.weightsSource}${note}:`, ...rows].join('\n');
}
