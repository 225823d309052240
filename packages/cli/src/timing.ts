/** Timing for benchmarks: warm up, then the median of repeated runs (robust on a shared, noisy machine). */
export async function medianMs(run: () => Promise<unknown> | unknown, { warmup = 3, repeats = 10 } = {}): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
