// What every nabla tokenizer shares: the batch-encoding contract, padding, and file reading with
// errors that name the tokenizer and the path.
//
// Glossary: B = batch size, T = padded sequence length.
import { mkdirSync, readFileSync, join } from '../platform/node.js';
import { writeTextAtomic } from '../io/atomic.js';

/** Options of `decode`. */
export interface DecodeOptions {
  /** Drop special tokens (`<|endoftext|>`, `<s>`, `</s>`, ...) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** Options of `batchEncode`, after Hugging Face's `tokenizer(texts, padding=..., ...)`. */
export interface BatchEncodeOptions {
  /** 'longest' pads to the longest row, 'maxLength' to `maxLength`, false not at all. Default 'longest'. */
  padding?: 'longest' | 'maxLength' | false;
  /** Target length for padding 'maxLength' and the limit for truncation. */
  maxLength?: number;
  /** Where pad tokens go. Default 'right'; use 'left' for batched generation. */
  paddingSide?: 'left' | 'right';
  /** Cut rows longer than `maxLength` (keeping their start). Default false. */
  truncation?: boolean;
}

/** Result of `batchEncode`: rows of ids, and 1 for real tokens / 0 for padding. Both (B, T). */
export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
}

/** The surface shared by GPT2Tokenizer and LlamaTokenizer, for generation and data code. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number | null;
  readonly bosTokenId: number | null;
  padTokenId: number | null;
  encode(text: string): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  batchEncode(texts: readonly string[], options?: BatchEncodeOptions): BatchEncoding;
}

/**
 * Pads (and optionally truncates) encoded rows into a rectangle. `who` names the caller in errors.
 * rows: B lists of ids -> inputIds (B, T), attentionMask (B, T).
 */
export function padBatch(
  who: string,
  rows: number[][],
  padTokenId: number | null,
  options: BatchEncodeOptions = {},
): BatchEncoding {
  const { padding = 'longest', maxLength, paddingSide = 'right', truncation = false } = options;
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
    throw new RangeError(`${who}.batchEncode: maxLength must be a positive integer, got ${maxLength}`);
  }
  if ((padding === 'maxLength' || truncation) && maxLength === undefined) {
    throw new Error(`${who}.batchEncode: padding 'maxLength' and truncation need maxLength`);
  }
  if (paddingSide !== 'left' && paddingSide !== 'right') {
    throw new Error(`${who}.batchEncode: paddingSide must be 'left' or 'right', got ${String(paddingSide)}`);
  }
  const ids = truncation ? rows.map((r) => r.slice(0, maxLength)) : rows;
  const masks = ids.map((r) => r.map(() => 1));
  if (padding === false) return { inputIds: ids, attentionMask: masks };
  const longest = ids.reduce((m, r) => Math.max(m, r.length), 0);
  const target = padding === 'maxLength' ? maxLength! : longest;
  if (longest > target) {
    const i = ids.findIndex((r) => r.length > target);
    throw new Error(
      `${who}.batchEncode: text ${i} has ${ids[i].length} tokens > maxLength ${target}; pass truncation: true`,
    );
  }
  if (padTokenId === null && ids.some((r) => r.length < target)) {
    throw new Error(`${who}.batchEncode: padding needs a pad token; set tokenizer.padTokenId first`);
  }
  const pad = (r: number[], v: number): number[] => {
    const fill = new Array<number>(target - r.length).fill(v);
    return paddingSide === 'left' ? fill.concat(r) : r.concat(fill);
  };
  return {
    inputIds: ids.map((r) => pad(r, padTokenId ?? 0)),
    attentionMask: masks.map((m) => pad(m, 0)),
  };
}

/** Reads a UTF-8 file; the error names the tokenizer, what the file is for, and the path. */
export function readText(who: string, what: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${who}: cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Writes each file of a tokenizer folder (name -> text, or a value written as JSON) atomically; returns the paths. */
export function writeTokenizerFiles(dir: string, files: Record<string, string | object>): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(files).map(([name, v]) => {
    const path = join(dir, name);
    writeTextAtomic(path, typeof v === 'string' ? v : `${JSON.stringify(v, null, 2)}\n`);
    return path;
  });
}

/** Reads and parses a JSON file with the same error conventions as `readText`. */
export function readJson(who: string, what: string, path: string): unknown {
  const text = readText(who, what, path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${who}: ${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Throws unless every id is an integer in [0, vocabSize). */
export function checkIds(who: string, ids: readonly number[], vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`${who}.decode: id ${id} at position ${i} is out of range [0, ${vocabSize})`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** UTF-8 bytes to text; invalid sequences become U+FFFD, as Python's errors='replace' does. */
export function utf8Decode(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Growable byte buffer for decoding. */
export class ByteSink {
  private buf = new Uint8Array(256);
  private n = 0;

  push(b: number): void {
    if (this.n === this.buf.length) this.grow(1);
    this.buf[this.n++] = b;
  }

  pushAll(bytes: Uint8Array): void {
    if (this.n + bytes.length > this.buf.length) this.grow(bytes.length);
    this.buf.set(bytes, this.n);
    this.n += bytes.length;
  }

  text(): string {
    return utf8Decode(this.buf.subarray(0, this.n));
  }

  private grow(extra: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + extra));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
  }
}

/**
 * Turns ids arriving one at a time (generation) into text pieces, holding back a trailing
 * incomplete UTF-8 character (U+FFFD at the end) until the next id completes it. Decodes the
 * whole sequence each time, so tokenizer rules such as Llama's space-after-<s> apply as in `decode`.
 *
 * @example
 * ```ts
 * import * as nb from 'nabla';
 * const tok = await nb.text.GPT2Tokenizer.fromPretrained('../shared/data');
 * const s = new nb.text.TextStreamer(tok, { promptIds: tok.encode('Once') });
 * for (const id of tok.encode(' upon a 🙃')) process.stdout.write(s.push(id)); // ' upon', ' a', ' ', '', '🙃'
 * process.stdout.write(s.flush());
 * ```
 */
export class TextStreamer {
  private readonly ids: number[];
  private emitted: number;

  /** `promptIds` give context (e.g. <s>) but are not emitted. */
  constructor(
    private readonly tokenizer: Pick<Tokenizer, 'decode'>,
    private readonly options: DecodeOptions & { promptIds?: readonly number[] } = {},
  ) {
    this.ids = [...(options.promptIds ?? [])];
    this.emitted = this.tokenizer.decode(this.ids, options).length;
  }

  /** Adds one id; returns the text that is now complete (maybe ''). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids, this.options);
    let end = text.length;
    while (end > this.emitted && text.charCodeAt(end - 1) === 0xfffd) end--;
    const out = text.slice(this.emitted, end);
    this.emitted = end;
    return out;
  }

  /** Returns whatever is still held back (U+FFFD for a character that never completed). */
  flush(): string {
    const text = this.tokenizer.decode(this.ids, this.options);
    const out = text.slice(this.emitted);
    this.emitted = text.length;
    return out;
  }
}
