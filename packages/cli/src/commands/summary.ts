import { humanCount, readableFlops, type Summary } from '@tessera/compiler';
import { CATALOG } from '@tessera/models';

const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

export function formatSummary(s: Summary): string {
  const defaults = CATALOG.find((e) => e.name === s.model)?.defaults ?? {};
  const lines = [`${s.model}`, '', 'config (--config key=value ...):'];
  for (const [k, v] of Object.entries(s.config)) lines.push(`  ${k}=${show(v)}${Object.hasOwn(defaults, k) && show(defaults[k]) !== show(v) ? `  (default ${show(defaults[k])})` : ''}`);
  lines.push('', 'inputs:');
  for (const [k, v] of Object.entries(s.inputs)) lines.push(`  ${k}: ${v}`);
  lines.push('outputs:');
  for (const [k, v] of Object.entries(s.outputs)) lines.push(`  ${k}: ${v}`);
  lines.push('', 'layers:');
  const rows = s.layers.map((l) => [`${'  '.repeat(l.depth)}${l.path || '(model)'}`, l.type, l.output ?? '', humanCount(l.parameters)]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) lines.push(`  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`);
  lines.push('', `parameters: ${s.parameters.toLocaleString('en-US')} (${humanCount(s.parameters)})`, `FLOPs: ${readableFlops(s.flops)} (a multiply-add counts 2; torchvision's "GFLOPS" count multiply-adds, half of this)`);
  return lines.join('\n');
}
