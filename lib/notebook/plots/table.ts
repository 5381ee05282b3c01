// A table (a nodejs-polars DataFrame, or anything with its few methods) as an HTML table.
import { displayBundle, escapeHtml, type MimeBundle } from '../display';

/** Rows of a table as records, as nodejs-polars' `toRecords()` gives them. */
export interface TableRecords {
  toRecords(): Record<string, unknown>[];
}

/** What {@link showTable} needs of a table: a nodejs-polars `DataFrame` has all of it. */
export interface TableLike extends TableRecords {
  columns: string[];
  height: number;
  head(length: number): TableRecords;
  tail(length: number): TableRecords;
  toString(): string;
}

/** Options of {@link tableBundle} and {@link showTable}. */
export interface TableOptions {
  /** Most rows shown; longer tables show their head and tail (default 20). */
  maxRows?: number;
  /** Significant digits of non-integer numbers (default 4). */
  digits?: number;
  /** A caption above the table. */
  caption?: string;
}

function cell(value: unknown, digits: number): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : Number(value.toPrecision(digits)).toString();
  if (value === null || value === undefined) return '';
  if (typeof value === 'bigint' || typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value) ?? String(value);
}

/** The MIME bundle of a table: an HTML table (head and tail when long) and the table's text. */
export function tableBundle(df: TableLike, options: TableOptions = {}): MimeBundle {
  const max = options.maxRows ?? 20;
  const digits = options.digits ?? 4;
  const long = df.height > max;
  const head = long ? df.head(Math.ceil(max / 2)).toRecords() : df.toRecords();
  const tail = long ? df.tail(Math.floor(max / 2)).toRecords() : [];
  const row = (r: Record<string, unknown>): string =>
    `<tr>${df.columns.map((c) => `<td>${escapeHtml(cell(r[c], digits))}</td>`).join('')}</tr>`;
  const gap = long ? `<tr>${df.columns.map(() => '<td>…</td>').join('')}</tr>` : '';
  const html = [
    '<table class="residual-table" style="border-collapse: collapse; font-variant-numeric: tabular-nums">',
    options.caption === undefined ? '' : `<caption>${escapeHtml(options.caption)}</caption>`,
    `<thead><tr>${df.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>`,
    `<tbody>${head.map(row).join('')}${gap}${tail.map(row).join('')}</tbody>`,
    '</table>',
    `<p style="font-size: smaller">${df.height} rows × ${df.columns.length} columns</p>`,
  ].join('');
  return { 'text/html': html, 'text/plain': (options.caption === undefined ? '' : `${options.caption}\n`) + df.toString() };
}

/** Shows a table in the notebook (its text outside one). */
export function showTable(df: TableLike, options: TableOptions = {}): void {
  displayBundle(tableBundle(df, options));
}
