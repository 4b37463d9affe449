// The report's chart as plain SVG text: how many times better Berth is than its
// baseline per metric (log scale, target marked), and peak RSS per workload.

export interface SpeedupBar {
  readonly label: string;
  /** > 1: Berth is better (faster, higher rate, shorter time). */
  readonly speedup: number;
  /** The speedup the target asks for, if the metric has a relative target. */
  readonly target?: number;
  readonly met?: boolean;
}

export interface MemoryBar {
  readonly label: string;
  readonly berthMiB: number;
  readonly baselineMiB: number;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const WIDTH = 960;
const LABEL_WIDTH = 380;
const PLOT_LEFT = LABEL_WIDTH + 10;
const PLOT_RIGHT = WIDTH - 70;
const ROW = 22;

export function renderChart(title: string, speedups: readonly SpeedupBar[], memory: readonly MemoryBar[]): string {
  const parts: string[] = [];
  let y = 30;
  parts.push(`<text x="10" y="${y}" font-size="16" font-weight="bold">${escape(title)}</text>`);
  y += 26;
  parts.push(`<text x="10" y="${y}" font-size="13">Times better than the baseline (log scale; green: target met, red: missed, grey: no relative target; | marks the target)</text>`);
  y += 14;
  const minLog = -1;
  const maxLog = Math.max(3, Math.ceil(Math.log10(Math.max(10, ...speedups.map((s) => s.speedup).filter(Number.isFinite)))));
  const xOf = (value: number): number => {
    const log = Math.min(maxLog, Math.max(minLog, Math.log10(Math.max(value, 1e-9))));
    return PLOT_LEFT + ((log - minLog) / (maxLog - minLog)) * (PLOT_RIGHT - PLOT_LEFT);
  };
  const top = y;
  const bottom = top + speedups.length * ROW + 6;
  for (let exponent = minLog; exponent <= maxLog; exponent++) {
    const x = xOf(10 ** exponent);
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="${exponent === 0 ? '#333' : '#ddd'}"/>`);
    parts.push(`<text x="${x}" y="${bottom + 14}" font-size="11" text-anchor="middle">${10 ** exponent}x</text>`);
  }
  speedups.forEach((bar, index) => {
    const rowY = top + 4 + index * ROW;
    const color = bar.met === undefined ? '#999' : bar.met ? '#2e8b57' : '#c0392b';
    const x0 = xOf(1);
    const x1 = Number.isFinite(bar.speedup) ? xOf(bar.speedup) : x0;
    parts.push(`<text x="${LABEL_WIDTH}" y="${rowY + 14}" font-size="12" text-anchor="end">${escape(bar.label)}</text>`);
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${rowY + 3}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${ROW - 8}" fill="${color}"/>`);
    if (bar.target !== undefined) {
      const tx = xOf(bar.target);
      parts.push(`<line x1="${tx}" y1="${rowY}" x2="${tx}" y2="${rowY + ROW - 2}" stroke="#000" stroke-width="2"/>`);
    }
    const text = Number.isFinite(bar.speedup) ? `${bar.speedup >= 10 ? bar.speedup.toFixed(0) : bar.speedup.toFixed(2)}x` : 'n/a';
    parts.push(`<text x="${Math.max(x0, x1) + 4}" y="${rowY + 14}" font-size="11">${text}</text>`);
  });
  y = bottom + 44;
  if (memory.length > 0) {
    parts.push(`<text x="10" y="${y}" font-size="13">Peak RSS per workload, MiB (median over rounds): Berth (blue) and distribution (orange)</text>`);
    y += 10;
    const maxMiB = Math.max(1, ...memory.flatMap((m) => [m.berthMiB, m.baselineMiB]));
    const scale = (PLOT_RIGHT - PLOT_LEFT) / maxMiB;
    memory.forEach((bar, index) => {
      const rowY = y + index * (2 * ROW - 6);
      parts.push(`<text x="${LABEL_WIDTH}" y="${rowY + 20}" font-size="12" text-anchor="end">${escape(bar.label)}</text>`);
      parts.push(`<rect x="${PLOT_LEFT}" y="${rowY + 4}" width="${Math.max(1, bar.berthMiB * scale)}" height="${ROW - 8}" fill="#2c6fbb"/>`);
      parts.push(`<text x="${PLOT_LEFT + bar.berthMiB * scale + 4}" y="${rowY + 15}" font-size="11">${bar.berthMiB.toFixed(0)}</text>`);
      parts.push(`<rect x="${PLOT_LEFT}" y="${rowY + ROW - 2}" width="${Math.max(1, bar.baselineMiB * scale)}" height="${ROW - 8}" fill="#e67e22"/>`);
      parts.push(`<text x="${PLOT_LEFT + bar.baselineMiB * scale + 4}" y="${rowY + ROW + 9}" font-size="11">${bar.baselineMiB.toFixed(0)}</text>`);
    });
    y += memory.length * (2 * ROW - 6) + 10;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
