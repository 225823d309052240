import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { readSafetensorsFile } from '@tessera/safetensors';
import { describe, expect, it } from 'vitest';
import { userErrorOf } from '../cli-testing.ts';
import { main } from '../main.ts';
import { centerCropOffset, preprocess, topK } from '@tessera/models';
import { decodeImage, imageSize } from './image.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-image-'));
const fixture = (name: string) => path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures', name);

function gradient(width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) png.data.set([(x * 255) / width, (y * 255) / height, 128, 255], (y * width + x) * 4);
  return PNG.sync.write(png);
}

describe('tessera run --image', () => {
  it('decodes PNG and JPEG, resizes the shorter side, center-crops and normalizes as torchvision', () => {
    const png = decodeImage(gradient(40, 30), 'g.png');
    expect([png.width, png.height]).toEqual([40, 30]);
    const x = preprocess(png, { resize: 16, crop: 16, interpolation: 'bilinear' });
    expect(x.shape).toEqual([1, 3, 16, 16]);
    // blue is constant 128: (128/255 - 0.406) / 0.225 everywhere
    expect(Math.abs(x.data[2 * 256 + 37]! - (128 / 255 - 0.406) / 0.225)).toBeLessThan(1e-6);
    // red grows left to right, green top to bottom
    expect(x.data[15]!).toBeGreaterThan(x.data[0]!);
    expect(x.data[256 + 15 * 16]!).toBeGreaterThan(x.data[256]!);
    const jpg = jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(8 * 8 * 4, 200) }, 90).data;
    expect(decodeImage(jpg, 'g.jpg').width).toBe(8);
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4, 5]), 'x.bin')).toThrow(/cannot decode x.bin: it is neither a PNG nor a JPEG/);
    expect(() => decodeImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0, 0]), 'bad.png')).toThrow(/cannot decode bad.png as PNG/);
  });

  it('prints the top-5 classes of a small ViT', async () => {
    const file = path.join(dir, 'g.png');
    writeFileSync(file, gradient(50, 40));
    const out = await main(['run', 'vit_b_16', '--image', file, '--config', 'image_size=32', 'patch_size=8', 'num_layers=1', 'num_heads=2', 'hidden_dim=16', 'mlp_dim=32', 'num_classes=7'], () => {});
    const rows = out.split('\n').slice(1);
    expect(rows.length).toBe(5);
    expect(rows[0]).toMatch(/^1\. +\d+\.\d\d% {2}class \d \(\d\)$/);
    expect(out).toMatch(/50x40 -> 32x32/);
  });

  it('says a model that takes no image takes none, naming its inputs', async () => {
    const file = path.join(dir, 'g.png');
    writeFileSync(file, gradient(50, 40));
    expect(await userErrorOf(['run', 'torch_multihead_attention', '--image', file, '--config', 'embed_dim=16', 'num_heads=2'])).toMatch(
      /model 'torch_multihead_attention' does not take an image \(one input of shape \(1, 3, H, W\)\); its inputs are query: f32\[L, 1, 16\], key: f32\[S, 1, 16\], value: f32\[S, 1, 16\]: give them with --inputs/,
    );
  });

  it('top-k is sorted softmax', () => {
    const r = topK(new Float32Array([0, 2, 1]), 2);
    expect(r.map((x) => x.index)).toEqual([1, 2]);
    expect(r[0]!.probability).toBeCloseTo(Math.exp(2) / (1 + Math.exp(1) + Math.exp(2)), 6);
  });
});

describe("torchvision's CenterCrop offset", () => {
  it('rounds half to even, as Python does (values from torchvision 0.14: int(round((size - crop) / 2.0)))', () => {
    const cases: [number, number, number][] = [[309, 224, 42], [311, 224, 44], [225, 224, 0], [227, 224, 2], [256, 224, 16], [300, 224, 38]];
    for (const [size, crop, expected] of cases) expect(centerCropOffset(size, crop), `${size} - ${crop}`).toBe(expected);
  });
});

describe("torchvision's preprocessing, exactly", () => {
  it('resizes (PIL bicubic and bilinear, in its fixed point) and center-crops non-square images of several aspect ratios as torchvision 0.14 does', () => {
    const expected = readSafetensorsFile(fixture('crop_expected.safetensors')).tensors;
    expect(expected.size).toBe(10);
    for (const [key, want] of expected) {
      const [name, interpolation] = key.split('/') as [string, 'bicubic' | 'bilinear'];
      const image = decodeImage(readFileSync(fixture(`${name}.png`)), name);
      const got = preprocess(image, { resize: interpolation === 'bicubic' ? 58 : 64, crop: 56, interpolation });
      expect(got.shape).toEqual(want.shape);
      // the same bytes before normalizing: one level of 255 apart would be 0.017 here
      expect(Math.max(...Array.from(got.data, (v, i) => Math.abs(v - want.data[i]!))), key).toBeLessThan(1e-6);
    }
  });
});

describe('images that would not decode well', () => {
  it('refuses a huge image before decoding it, an image without pixels, and says a PNG is truncated', () => {
    // a 20000x20000 PNG header: refused by its size, nothing decoded
    const huge = Buffer.from(gradient(4, 4));
    huge.writeUInt32BE(20000, 16);
    huge.writeUInt32BE(20000, 20);
    expect(() => decodeImage(huge, 'huge.png')).toThrow(/huge\.png is 20000x20000 \(400 megapixels\), above the limit of 50 megapixels; raise it with --max-pixels/);
    const empty = Buffer.from(gradient(4, 4));
    empty.writeUInt32BE(0, 16);
    expect(() => decodeImage(empty, 'empty.png')).toThrow(/empty\.png is a 0x4 PNG: it has no pixels/);
    const whole = gradient(40, 30);
    expect(() => decodeImage(whole.subarray(0, whole.length - 40), 'cut.png')).toThrow(/cannot decode cut\.png as PNG: the file is truncated/);
    expect(imageSize(jpeg.encode({ width: 9, height: 7, data: Buffer.alloc(9 * 7 * 4) }, 90).data)).toEqual({ width: 9, height: 7 });
  });
});
