// A tiny CSV reader (RFC 4180): quoted fields with "" escapes and embedded newlines, CRLF or LF,
// an optional header row. Fields stay strings; toTensor converts chosen columns to numbers.

import { readFileSync } from '../platform/node.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { tensor } from '../tensor/creation.js';

export interface CsvOptions {
  delimiter?: string;
  /** Whether the first row names the columns (default true). */
  header?: boolean;
}

export class CsvTable {
  constructor(
    readonly header: string[] | null,
    readonly rows: string[][],
    readonly name = '<csv>',
  ) {}

  get numRows(): number {
    return this.rows.length;
  }

  private colIndex(col: string | number): number {
    if (typeof col === 'number') {
      const w = this.rows[0]?.length ?? this.header?.length ?? 0;
      if (!Number.isInteger(col) || col < 0 || col >= w)
        throw new Error(`${this.name}: column ${col} is out of range for ${w} columns`);
      return col;
    }
    const i = this.header ? this.header.indexOf(col) : -1;
    if (i < 0)
      throw new Error(
        `${this.name}: no column named ` +
          `'${col}'${this.header ? ` (columns: ${this.header.join(', ')})` : ' (the table has no header)'}`,
      );
    return i;
  }

  /** One column's values. */
  column(col: string | number): string[] {
    const i = this.colIndex(col);
    return this.rows.map((r) => r[i]);
  }

  /** The chosen columns (default all) as a (rows, columns) tensor; a non-number is an error. */
  toTensor(columns?: (string | number)[], dtype: DType = 'float32'): Tensor {
    const idx = (columns ?? (this.rows[0] ?? []).map((_, i) => i)).map((c) => this.colIndex(c));
    const out = this.rows.map((r, ri) =>
      idx.map((ci) => {
        const s = r[ci].trim();
        const v = s === '' ? NaN : Number(s);
        if (Number.isNaN(v) && s.toLowerCase() !== 'nan') {
          throw new Error(
            `${this.name}: row ${ri + 1}, column ${this.header ? `'${this.header[ci]}'` : ci}: '${r[ci]}' is not a ` +
              `number`,
          );
        }
        return v;
      }),
    );
    return tensor(out, { dtype, shape: [this.rows.length, idx.length] });
  }
}

/** Parses CSV text; every row must have as many fields as the first. */
export function parseCsv(text: string, opts: CsvOptions = {}, name = '<csv>'): CsvTable {
  const delim = opts.delimiter ?? ',';
  if (delim.length !== 1 || delim === '"' || delim === '\n' || delim === '\r')
    throw new Error(
      `parseCsv: delimiter must be one character other than a quote or newline, got ${JSON.stringify(delim)}`,
    );
  const rows: string[][] = [];
  let row: string[] = [],
    field = '',
    i = 0,
    line = 1,
    inQuotes = false,
    quoteLine = 0,
    fieldStarted = false;
  const endField = () => {
    row.push(field);
    field = '';
    fieldStarted = false;
  };
  const endRow = () => {
    endField();
    rows.push(row);
    row = [];
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1; // byte-order mark
  for (; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && !fieldStarted && field === '') {
      inQuotes = true;
      quoteLine = line;
      fieldStarted = true;
      continue;
    }
    if (c === delim) {
      endField();
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') continue;
    if (c === '\n' || c === '\r') {
      endRow();
      line++;
      continue;
    }
    field += c;
    fieldStarted = true;
  }
  if (inQuotes) throw new Error(`${name}: unterminated quoted field starting on line ${quoteLine}`);
  if (field !== '' || row.length > 0 || fieldStarted) endRow();
  const hasHeader = opts.header ?? true;
  const header = hasHeader && rows.length ? rows.shift()! : null;
  const width = header ? header.length : (rows[0]?.length ?? 0);
  rows.forEach((r, k) => {
    if (r.length !== width)
      throw new Error(
        `${name}: row ${k + 1} has ${r.length} fields, expected ${width}${header ? ' (as the header)' : ''}`,
      );
  });
  return new CsvTable(header, rows, name);
}

/** Reads and parses a UTF-8 CSV file. */
export function readCsv(path: string, opts: CsvOptions = {}): CsvTable {
  return parseCsv(readFileSync(path, 'utf8'), opts, path);
}
