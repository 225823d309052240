/** Small SVG plots written beside a checkpoint: the loss curve, and attention weights as a heat map. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A line plot of `values` (one per epoch) with axes, ticks and a title. */
export function lossCurveSvg(values: readonly number[], title = 'training loss'): string {
  const [W, H, L, R, T, B] = [480, 300, 56, 16, 32, 40];
  const max = Math.max(...values, 1e-9);
  const n = Math.max(values.length, 2);
  const x = (i: number) => L + ((W - L - R) * i) / (n - 1);
  const y = (v: number) => T + (H - T - B) * (1 - v / max);
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<line x1="${L - 4}" y1="${y(f * max).toFixed(1)}" x2="${L}" y2="${y(f * max).toFixed(1)}" stroke="#333"/><text x="${L - 6}" y="${(y(f * max) + 4).toFixed(1)}" font-size="11" text-anchor="end">${(f * max).toFixed(2)}</text>`).join('');
  const xTicks = [0, Math.floor((n - 1) / 2), n - 1].map((i) => `<text x="${x(i).toFixed(1)}" y="${H - B + 16}" font-size="11" text-anchor="middle">${i + 1}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="20" font-size="14" text-anchor="middle">${esc(title)}</text>
<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>
${yTicks}${xTicks}
<text x="${(L + W - R) / 2}" y="${H - 6}" font-size="12" text-anchor="middle">epoch</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${points}"/>
</svg>
`;
}

/** A heat map of weights (rows: output tokens, columns: source tokens), darker is more weight. */
export function heatmapSvg(weights: readonly (readonly number[])[], rowLabels: readonly string[], colLabels: readonly string[], title: string): string {
  const cell = 28;
  const [L, T] = [110, 100];
  const W = Math.max(L + cell * colLabels.length + 16, 16 + 7 * title.length);
  const H = T + cell * rowLabels.length + 16;
  const cells = weights.flatMap((row, r) => row.map((v, c) => {
    const shade = Math.round(255 * (1 - Math.min(1, Math.max(0, v))));
    return `<rect x="${L + c * cell}" y="${T + r * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)"><title>${v.toFixed(3)}</title></rect>`;
  })).join('\n');
  const rows = rowLabels.map((l, r) => `<text x="${L - 6}" y="${T + r * cell + cell / 2 + 4}" font-size="12" text-anchor="end">${esc(l)}</text>`).join('');
  const cols = colLabels.map((l, c) => `<text transform="translate(${L + c * cell + cell / 2 + 4},${T - 6}) rotate(-60)" font-size="12">${esc(l)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<rect width="${W}" height="${H}" fill="white"/>
<text x="8" y="18" font-size="13">${esc(title)}</text>
${rows}${cols}
${cells}
</svg>
`;
}
