/**
 * The fusion pipeline: an explicit ordered list of rewrite passes, each reporting how many times
 * each of its rules fired. Linear and GELU first, so that attention sees projections as single
 * nodes; the attention core next; then the head split and merge folded into it; last the
 * residual adds into the LayerNorms that read them.
 */
import type { Pass, PassStats } from '../pass.ts';
import { dce } from '../passes/dce.ts';
import { type Rule, rewritePass } from '../rewrite.ts';
import { addLayerNormRule } from './add-layernorm.ts';
import { attentionRule } from './attention.ts';
import { attentionHeadsRule } from './attention-heads.ts';
import { geluRule } from './gelu.ts';
import { linearNoBiasRule, linearRule } from './linear.ts';
import { linearSiblings } from './linear-siblings.ts';
import { patchMergeRule } from './patch-merge.ts';
import { qkvSplitRule } from './qkv-split.ts';
import { windowPartitionRule } from './window-partition.ts';
import { windowReverseRules } from './window-reverse.ts';

interface Stage {
  readonly pass: string;
  readonly rules: readonly Rule[];
  /** A fusion that is not a pattern over one root (several Linears become one), run as a pass. */
  readonly custom?: () => Pass;
  /** Rewrites leave nodes dead that the next stage's patterns would see as shared: sweep them first. */
  readonly sweep?: boolean;
}

const STAGES: readonly Stage[] = [
  { pass: 'fuse-linear', rules: [linearRule, linearNoBiasRule] },
  { pass: 'fuse-linear-siblings', rules: [], custom: linearSiblings },
  { pass: 'fuse-gelu', rules: [geluRule] },
  { pass: 'fuse-qkv-split', rules: [qkvSplitRule] },
  { pass: 'fuse-windows', rules: [windowPartitionRule, ...windowReverseRules, patchMergeRule] },
  // the attention rule leaves K^T's old transpose dead beside the head split it now reads
  { pass: 'fuse-attention', rules: [attentionRule], sweep: true },
  { pass: 'fuse-attention-heads', rules: [attentionHeadsRule] },
  { pass: 'fuse-add-layernorm', rules: [addLayerNormRule] },
];

/** Every fusion rule, in pipeline order. */
export const FUSION_RULES: readonly string[] = [...new Set(STAGES.flatMap((s) => (s.custom ? ['linear-siblings'] : s.rules.map((r) => r.name))))];

export function fusionPasses(): Pass[] {
  return STAGES.flatMap((s) => [s.custom ? s.custom() : rewritePass(s.pass, s.rules), ...(s.sweep ? [dce()] : [])]);
}

/** How many times each fusion rule fired (0 included). */
export function fusionCounts(stats: readonly PassStats[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(FUSION_RULES.map((r) => [r, 0]));
  for (const s of stats) for (const [rule, n] of Object.entries(s.counts)) if (rule in counts) counts[rule] += n;
  return counts;
}

/** The fusions' report: each rule's count, then every near-match, where it was and why it was refused. */
export function formatFusions(stats: readonly PassStats[]): string {
  const lines = ['fusions:', ...Object.entries(fusionCounts(stats)).map(([rule, n]) => `  ${rule.padEnd(24)} ${n}`)];
  const notes = stats.filter((s) => s.pass.startsWith('fuse-')).flatMap((s) => s.notes);
  lines.push(notes.length ? 'near-matches (rule: where: why it was refused):' : 'no near-matches', ...notes.map((n) => `  ${n}`));
  return lines.join('\n');
}
