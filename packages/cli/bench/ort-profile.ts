/**
 * Where ONNX Runtime spends a model's time, per op type, for several exports side by side: its
 * profiler (enableProfiling) over a few runs, each node's fastest run kept (on a shared, busy
 * machine the fastest run of a node is the one no other process interrupted), summed per op type
 * and over the model. One intra-op thread unless --threads says otherwise. The first input gets
 * seeded values of the shape given; other symbolic dims are not supported (image models).
 *
 *   npx tsx packages/cli/bench/ort-profile.ts --shape 1,3,224,224 [--runs 8] [--threads 1] a.onnx b.onnx ...
 *
 * With it, Swin-T's onnxruntime target: SkipLayerNormalization took 690 us a node against 150 for
 * Add + LayerNormalization, so the target writes the latter (compiler/src/onnx/ops/nn.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { table } from './measure.ts';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;

interface Profile {
  readonly file: string;
  /** Microseconds and node count per op type. */
  readonly byOp: ReadonlyMap<string, { us: number; nodes: number }>;
  readonly totalUs: number;
}

interface ProfileEvent {
  readonly cat: string;
  readonly name: string;
  readonly dur: number;
  readonly args: { readonly op_name?: string };
}

const option = (argv: readonly string[], name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

/** Each node's fastest kernel time over the runs (the warm-up run left out), by op type. */
function fastestPerNode(events: readonly ProfileEvent[]): Map<string, { us: number; nodes: number }> {
  const best = new Map<string, { dur: number; op: string }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const known = best.get(e.name);
    if (!known || e.dur < known.dur) best.set(e.name, { dur: e.dur, op: e.args.op_name ?? '?' });
  }
  const byOp = new Map<string, { us: number; nodes: number }>();
  for (const { dur, op } of best.values()) {
    const entry = byOp.get(op) ?? { us: 0, nodes: 0 };
    byOp.set(op, { us: entry.us + dur, nodes: entry.nodes + 1 });
  }
  return byOp;
}

async function profile(file: string, feed: Ort.Tensor, runs: number, threads: number): Promise<Profile> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-ort-profile-'));
  try {
    const session = await ort.InferenceSession.create(file, { logSeverityLevel: 3, intraOpNumThreads: threads, enableProfiling: true, profileFilePrefix: path.join(dir, 'profile') });
    for (let r = 0; r < runs + 1; r++) await session.run({ [session.inputNames[0]!]: feed });
    session.endProfiling();
    await session.release();
    const json = readdirSync(dir).find((f) => f.endsWith('.json'))!;
    const byOp = fastestPerNode(JSON.parse(readFileSync(path.join(dir, json), 'utf8')) as ProfileEvent[]);
    return { file, byOp, totalUs: [...byOp.values()].reduce((sum, e) => sum + e.us, 0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
const shape = (option(argv, '--shape') ?? '1,3,224,224').split(',').map(Number);
const runs = Number(option(argv, '--runs') ?? 8);
const threads = Number(option(argv, '--threads') ?? 1);
const files = argv.filter((a, i) => a.endsWith('.onnx') && !argv[i - 1]?.startsWith('--'));
const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.5);
const feed = new ort.Tensor('float32', data, shape);
const profiles: Profile[] = [];
for (const file of files) profiles.push(await profile(file, feed, runs, threads));
const ops = [...new Set(profiles.flatMap((p) => [...p.byOp.keys()]))].sort((a, b) => (profiles[0]!.byOp.get(b)?.us ?? 0) - (profiles[0]!.byOp.get(a)?.us ?? 0));
const rows = [['op (us, nodes)', ...profiles.map((p) => path.basename(p.file))]];
for (const op of ops) rows.push([op, ...profiles.map((p) => (p.byOp.has(op) ? `${p.byOp.get(op)!.us} (${p.byOp.get(op)!.nodes})` : '-'))]);
rows.push(['total us', ...profiles.map((p) => String(p.totalUs))]);
process.stdout.write(`ONNX Runtime ${ort.env.versions.common}, ${threads} thread(s), input [${shape.join(', ')}], each node's fastest of ${runs} runs:\n${table(rows)}\n`);
