import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkOnnxModel } from '@tessera/compiler/node';
import { runCli } from '../cli-testing.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-train-'));
const lines: string[] = [];
const log = (l: string) => lines.push(l);

const cli = (...argv: string[]) => runCli(argv, log);

const TINY = ['--config', 'd_model=16', 'nhead=2', 'num_encoder_layers=1', 'num_decoder_layers=1', 'dim_feedforward=32'];

describe('tessera train transformer / tessera translate', () => {
  it('trains, writes a checkpoint with a loss curve, resumes, and translates', async () => {
    const ck = path.join(dir, 'ck');
    const first = await cli('train', 'transformer', '--checkpoint', ck, '--epochs', '1', ...TINY);
    expect(first.error).toBeUndefined();
    expect(first.out).toMatch(/trained 1 epochs in .* target tokens\/s\); loss/);
    expect(first.out).toMatch(/held-out \(100 sentences, greedy with the KV cache\) mean BLEU: tfjs fp32 \d\.\d{3}, onnxruntime fp32 \d\.\d{3}, onnxruntime int8 \d\.\d{3} \(int8 - fp32 [-+]?\d\.\d{3}; target: a drop of at most 0\.01, (met|NOT met)\)/);
    expect(first.out).toMatch(/held-out exact match: tfjs fp32 \d+%, onnxruntime fp32 \d+%, onnxruntime int8 \d+% \(int8 - fp32 [-+]?\d+ points\)/);
    expect(first.out).toMatch(/onnxruntime-node .* gives the tfjs tokens on 100\/100 held-out sentences, int8 on \d+\/100/);
    expect(first.out).toMatch(/ {2}int8: onnxruntime-node int8 \((\d+) of \d+ matmuls, \1 MatMulInteger\/DynamicQuantizeMatMul nodes\)/);
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'config.json', 'loss.svg', 'encoder.onnx', 'decoder_step.onnx']) expect(existsSync(path.join(ck, f))).toBe(true);
    for (const f of ['encoder.onnx', 'decoder_step.onnx']) {
      const check = checkOnnxModel(path.join(ck, f));
      if (check.ok !== undefined) expect(check).toEqual({ ok: true });
    }

    // after 4 epochs at 0.01 the model translates about half of each sentence (BLEU about 0.5): int8 has answers to keep
    const resumed = await cli('train', 'transformer', '--checkpoint', ck, '--resume', ck, '--epochs', '3', '--lr', '0.01');
    expect(resumed.error).toBeUndefined();
    expect(lines.some((l) => l.startsWith(`resuming ${ck} after epoch 1 with its Adam state`))).toBe(true);
    const config = JSON.parse(readFileSync(path.join(ck, 'config.json'), 'utf8'));
    expect(config.training.epochs).toBe(4);
    expect(config.training.losses).toHaveLength(4);
    expect(config.training.losses[3]).toBeLessThan(config.training.losses[0]);
    const [tfjsBleu, fp32Bleu, int8Bleu] = (/mean BLEU: tfjs fp32 ([\d.]+), onnxruntime fp32 ([\d.]+), onnxruntime int8 ([\d.]+)/.exec(resumed.out!) ?? []).slice(1).map(Number) as [number, number, number];
    expect(tfjsBleu).toBeGreaterThan(0.2);
    expect(fp32Bleu).toBe(tfjsBleu);
    // int8 moves the logits by about 2 % of their peak: it flips a token only where the top two are that
    // close, which a half-trained model has in a few sentences (2 of 100 here); each such sentence moves
    // the mean BLEU by at most 0.01
    const int8Agree = Number(/int8 on (\d+)\/100/.exec(resumed.out!)![1]);
    expect(int8Agree).toBeGreaterThanOrEqual(95);
    expect(Math.abs(int8Bleu - fp32Bleu)).toBeLessThanOrEqual((100 - int8Agree) / 100);

    // --epochs 0 evaluates the checkpoint as the training run did, and writes nothing
    const before = readdirSync(ck).map((f) => [f, statSync(path.join(ck, f)).mtimeMs]);
    const evaluated = await cli('train', 'transformer', '--resume', ck, '--epochs', '0');
    expect(evaluated.error).toBeUndefined();
    const heldOut = (out: string) => out.split('\n').filter((l) => /^held-out|^the same greedy loop|^ {2}int8:/.test(l));
    expect(heldOut(evaluated.out!)).toEqual(heldOut(resumed.out!));
    expect(heldOut(evaluated.out!)).toHaveLength(4);
    expect(readdirSync(ck).map((f) => [f, statSync(path.join(ck, f)).mtimeMs])).toEqual(before);
    expect((await cli('train', 'transformer', '--checkpoint', ck, '--epochs', '0')).error).toMatch(/--epochs 0 trains nothing: it evaluates the checkpoint --resume DIR names/);

    const svg = path.join(dir, 'attention.svg');
    const t = await cli('translate', '--checkpoint', ck, 'three hundred twelve', '--attention', '0', '--attention-svg', svg);
    expect(t.error).toBeUndefined();
    expect(t.out!.length).toBeGreaterThan(0);
    expect(readFileSync(svg, 'utf8')).toContain('<rect');
    const beam = await cli('translate', '--checkpoint', ck, 'three hundred twelve', '--beam', '3', '--backend', 'onnxruntime');
    expect(beam.error).toBeUndefined();

    expect((await cli('translate', '--checkpoint', ck, '')).error).toMatch(/the sentence is empty/);
    expect((await cli('translate', '--checkpoint', ck, 'one', '--max-len', '1001')).error).toMatch(/--max-len 1001: the positional encoding covers max_len 1000 positions/);
    expect((await cli('translate', '--checkpoint', ck, 'one', '--attention', '0', '--attention-svg', path.join(dir, 'nowhere', 'a.svg'))).error).toMatch(/cannot write .*a\.svg: its directory does not exist/);
    await cli('translate', '--checkpoint', ck, 'nine hundred gazillion');
    expect(lines.at(-1)).toMatch(/'gazillion' not in the source vocabulary; read as <unk>/);
    expect((await cli('translate', '--checkpoint', path.join(dir, 'nowhere'), 'one')).error).toMatch(/is not a translator checkpoint: it has no config.json/);
    expect((await cli('train', 'transformer', '--checkpoint', ck, '--resume', ck, ...TINY)).error).toMatch(/--config cannot change the model/);
    expect((await cli('train', 'gpt', '--checkpoint', ck)).error).toMatch(/trains 'transformer'/);
    // a trained checkpoint is not overwritten unasked; a file is not a checkpoint directory
    expect((await cli('train', 'transformer', '--checkpoint', ck, '--epochs', '1', ...TINY)).error).toMatch(/holds a trained checkpoint \(config\.json\): continue it with --resume .*, or pass --overwrite/);
    expect((await cli('train', 'transformer', '--checkpoint', path.join(ck, 'config.json'), '--epochs', '1', ...TINY)).error).toMatch(/is a file, not a directory/);
    // no directory can be made there (Node's recursive mkdir spun forever on it)
    expect((await cli('train', 'transformer', '--checkpoint', '/proc/tessera-nowhere/ck', '--epochs', '1', ...TINY)).error).toMatch(/cannot write the checkpoint in \/proc\/tessera-nowhere\/ck: ENOENT/);
  }, 180_000);

  it('on Ctrl-C finishes the step, writes a checkpoint of it, and --resume goes on from the next batch', async () => {
    const ck = path.join(dir, 'interrupted');
    const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bin/tessera.mjs');
    const child = spawn(process.execPath, [bin, 'train', 'transformer', '--checkpoint', ck, '--epochs', '3', '--batch-size', '16', ...TINY], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // the first epoch is done (its checkpoint written): interrupt inside the second
      if (/epoch 1\/3 \[#+\]/.test(stderr) && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(1);
    expect(stderr).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/);
    // the signal lands inside epoch 2, or in the last step of epoch 1 (then the epoch's own checkpoint is the one)
    const [, epoch, batch] = (/interrupted after epoch (\d+), batch (\d+): .* holds the checkpoint of that step; continue with tessera train transformer --checkpoint .* --resume/.exec(stderr) ?? []).map(Number) as [number, number, number];
    expect(epoch, stderr).toBeGreaterThanOrEqual(1);
    const saved = JSON.parse(readFileSync(path.join(ck, 'config.json'), 'utf8'));
    const batches = Math.ceil(899 / 16);
    if (batch < batches) expect([saved.training.epochs, saved.training.partial.batches]).toEqual([epoch - 1, batch]);
    else expect([saved.training.epochs, saved.training.partial]).toEqual([epoch, undefined]);
    expect(existsSync(path.join(ck, 'optimizer.safetensors'))).toBe(true);

    const resumed = await cli('train', 'transformer', '--checkpoint', ck, '--resume', ck, '--epochs', '1', '--batch-size', '16');
    expect(resumed.error).toBeUndefined();
    const done = JSON.parse(readFileSync(path.join(ck, 'config.json'), 'utf8'));
    // the rest of an interrupted epoch, then one more
    expect(done.training.epochs).toBe(saved.training.epochs + (saved.training.partial ? 2 : 1));
    expect(done.training.partial).toBeUndefined();
    expect(done.training.losses).toHaveLength(done.training.epochs);
  }, 120_000);

  it('refuses, before any step and before making the checkpoint directory, more target steps than the positional encoding has rows', async () => {
    const ck = path.join(dir, 'too-long');
    expect((await cli('train', 'transformer', '--checkpoint', ck, '--num-steps', '2000', '--epochs', '1')).error).toMatch(
      /--num-steps 2000: the positional encoding covers max_len 1000 positions; give at most 1000 steps \(or raise --config max_len\)/,
    );
    expect((await cli('train', 'transformer', '--checkpoint', ck, '--num-steps', '40', '--config', 'max_len=32')).error).toMatch(/--num-steps 40: .* covers max_len 32 positions/);
    expect(existsSync(ck)).toBe(false);
  });

  it('names every model it trains', async () => {
    expect((await cli('train', 'resnet', '--checkpoint', dir)).error).toMatch(/trains 'transformer' \(the article's encoder-decoder\), 'vit' or 'swin_t' .*; got 'resnet'/);
  });
});
