/**
 * Fuzzing the readers and the config parser: random bytes, truncations and header edits thrown at
 * the safetensors reader, the translator checkpoint loader and the image decoder, and random values
 * at every catalog model's config. Success or a user error (one paragraph, exit 1) are the only
 * outcomes allowed: never an internal error, never a hang (each case is bounded in time).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor, seededRandom, trace } from '@tessera/graph-dsl';
import { buildModel, CATALOG } from '@tessera/models';
import { decodeSafetensors, encodeSafetensors } from '@tessera/safetensors';
import { PNG } from 'pngjs';
import { decodeImage } from './commands/image.ts';
import { isUserError } from './main.ts';
import { loadCheckpoint } from './seq2seq/checkpoint.ts';

const random = seededRandom(7);
const int = (n: number) => Math.floor(random() * n);

/** Bytes mutated at random: bytes flipped, a cut, a run repeated, or noise. */
function mutate(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  switch (int(4)) {
    case 0:
      for (let k = 0; k < 1 + int(8); k++) out[int(out.length)] = int(256);
      return out;
    case 1:
      return out.subarray(0, int(out.length));
    case 2: {
      const at = int(out.length);
      return Uint8Array.from([...out.subarray(0, at), ...out.subarray(at - int(at + 1), at), ...out.subarray(at)]);
    }
    default:
      return Uint8Array.from({ length: int(64) }, () => int(256));
  }
}

/** The only outcomes allowed: a result, or an error the CLI reports as the user's. */
function survives(what: string, f: () => unknown): void {
  const t0 = performance.now();
  try {
    f();
  } catch (e) {
    if (!isUserError(e)) throw new Error(`${what}: internal error ${(e as Error).name}: ${(e as Error).message}`);
  }
  expect(performance.now() - t0, what).toBeLessThan(2000);
}

describe('fuzzing', () => {
  it('the safetensors reader: 500 mutated files and header edits', () => {
    const good = encodeSafetensors(new Map<string, HostTensor>([['w', hostTensor('float32', [3, 4], Array.from({ length: 12 }, (_, i) => i))], ['ids', hostTensor('int32', [5], [1, 2, 3, 4, 5])]]), { format: 'pt' });
    const headerLength = Number(new DataView(good.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(good.subarray(8, 8 + headerLength));
    const edits = [(h: string) => h.replace(/F32/, 'F99'), (h: string) => h.replace(/\[3,4\]/, '[4,4]'), (h: string) => h.replace(/\d+\]/, '99999999999]'), (h: string) => h.replace('"shape"', '"shap"'), (h: string) => h.replace(/\[0,48\]/, '[-8,48]'), (h: string) => `${h.slice(0, -2)}`];
    for (let n = 0; n < 500; n++) {
      let bytes = mutate(good);
      if (n % 5 === 0) {
        const edited = new TextEncoder().encode(edits[int(edits.length)]!(header));
        bytes = new Uint8Array(8 + edited.length + (good.length - 8 - headerLength));
        new DataView(bytes.buffer).setBigUint64(0, BigInt(edited.length), true);
        bytes.set(edited, 8);
        bytes.set(good.subarray(8 + headerLength), 8 + edited.length);
      }
      survives(`safetensors case ${n}`, () => decodeSafetensors(bytes, 'f.safetensors'));
    }
  });

  it('the image decoder: 300 mutated PNGs and JPEG-looking bytes', () => {
    const png = new PNG({ width: 6, height: 5 });
    const good = new Uint8Array(PNG.sync.write(png));
    for (let n = 0; n < 300; n++) {
      const bytes = n % 3 === 0 ? Uint8Array.from([0xff, 0xd8, ...mutate(good)]) : mutate(good);
      survives(`image case ${n}`, () => decodeImage(bytes, 'f.png'));
    }
  });

  it('the translator checkpoint loader: mutated config.json and weights', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tessera-fuzz-'));
    const config = JSON.stringify({ format: 'tessera-translator/1', model: { d_model: 16, nhead: 2 }, srcVocab: ['<pad>'], tgtVocab: ['<pad>'], numSteps: 12, training: { epochs: 1, losses: [1] } });
    for (let n = 0; n < 100; n++) {
      const ck = path.join(dir, String(n));
      mkdirSync(ck);
      writeFileSync(path.join(ck, 'config.json'), mutate(new TextEncoder().encode(config)));
      writeFileSync(path.join(ck, 'model.safetensors'), mutate(encodeSafetensors(new Map([['x', hostTensor('float32', [2], [1, 2])]]))));
      survives(`checkpoint case ${n}`, () => loadCheckpoint(ck));
    }
  });

  it("every catalog model's config parser, and the trace of what it builds: random values for every key", () => {
    const values = ['-4', '0', '1', '3', '2.5', '1e9', '99999984', 'none', 'true', 'abc', '', '2,2', '0,0', '-1,3', 'nan', 'Infinity', '1e-9', '0.5'];
    for (const entry of CATALOG) {
      const keys = Object.keys(entry.defaults);
      for (let n = 0; n < 60; n++) {
        const key = keys[int(keys.length)]!;
        const config = [...Object.entries(entry.small).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).filter((kv) => !kv.startsWith(`${key}=`)), `${key}=${values[int(values.length)]}`];
        survives(`${entry.name} ${config.join(' ')}`, () => {
          const { built } = buildModel(entry.name, config);
          return trace(built.module, built.inputs, built.outputs);
        });
      }
    }
  }, 120_000);
});
