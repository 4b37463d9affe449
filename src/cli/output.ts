// Tables and JSON for listings. Tables use sealctl's ASCII borders, so existing
// scripts that read `sealctl registry status` keep working.
import Table from 'cli-table3';

const ASCII_BORDERS = {
  top: '-', 'top-mid': '+', 'top-left': '+', 'top-right': '+',
  bottom: '-', 'bottom-mid': '+', 'bottom-left': '+', 'bottom-right': '+',
  left: '|', 'left-mid': '+', mid: '-', 'mid-mid': '+',
  right: '|', 'right-mid': '+', middle: '|',
};

export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const table = new Table({ head: [...headers], chars: ASCII_BORDERS, style: { head: [], border: [], compact: false } });
  for (const row of rows) table.push([...row]);
  return table.toString();
}

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** docker's plain column layout (`docker images`): left-aligned, three spaces apart. */
export function renderColumns(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function maskSecret(secret: string | undefined): string {
  return secret ? '******' : '';
}
