// The Llama (SentencePiece BPE, byte fallback) tokenizer, from llama2.c tokenizer.bin or a Hugging
// Face tokenizer.json.
//
// Encoding follows llama2.c run.c `encode`: prepend a dummy space, look each UTF-8 character up as a
// piece (falling back to one <0xNN> piece per byte), then repeatedly merge the adjacent pair whose
// concatenation is the best-scoring piece (the leftmost among equals). A tokenizer.json gives merge
// ranks instead of scores; the loop is the same with priority = rank (merge.ts).
//
// tokenizer.bin layout (little-endian): int32 max_token_length, then per piece: float32 score,
// int32 byte length, the UTF-8 bytes. ids 0, 1, 2 are <unk>, <s>, </s>; '<0x0A>'-style pieces are
// raw bytes; the SentencePiece space '▁' is written as ' '.
import { existsSync, readFileSync, statSync, join } from '../platform/node.js';
import { asBytes, type Bytes } from '../util/bytes.js';
import { MergeTable } from './merge.js';
import {
  type BatchEncodeOptions,
  type BatchEncoding,
  type DecodeOptions,
  type Tokenizer,
  ByteSink,
  checkIds,
  padBatch,
  readJson,
  writeTokenizerFiles,
  utf8Decode,
} from './tokenizer.js';

/** Options of `LlamaTokenizer.encode`. */
export interface LlamaEncodeOptions {
  /** Prepend <s>. Default true (llama2.c and Hugging Face both do). */
  bos?: boolean;
  /** Append </s>. Default false. */
  eos?: boolean;
}

/** One vocabulary entry as stored in a tokenizer.bin. */
export interface LlamaPiece {
  piece: string;
  score: number;
}

enum Kind {
  Normal = 0,
  Byte = 1,
  Control = 2,
}

interface Parts {
  pieces: string[];
  kinds: Kind[];
  merges: MergeTable;
  /** How the pieces write the SentencePiece space: ' ' in tokenizer.bin, '▁' in tokenizer.json. */
  space: string;
  addDummyPrefix: boolean;
  byteFallback: boolean;
  unk: number | null;
  bos: number | null;
  eos: number | null;
}

const WHO = 'LlamaTokenizer';
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const utf8 = new TextEncoder();
const CACHE_LIMIT = 100_000;

/**
 * SentencePiece-BPE tokenizer of Llama-family models, with byte fallback: every string encodes,
 * and decode(encode(s)) === s.
 *
 * @example
 * ```ts
 * import * as nb from 'nabla';
 * const tok = nb.text.LlamaTokenizer.fromLlama2c('../shared/data/tok512.bin');
 * const ids = tok.encode('Once upon a time');   // [1, ...]: <s> then pieces such as ' Once'
 * tok.decode(ids);                              // 'Once upon a time' (space after <s> stripped)
 * tok.decode(tok.encode('🙂'));                 // '🙂', via byte pieces <0xF0><0x9F><0x99><0x82>
 * ```
 */
export class LlamaTokenizer implements Tokenizer {
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly unkTokenId: number | null;
  /** Id used for padding in batchEncode; settable. Llama has no pad token: defaults to eos. */
  padTokenId: number | null;

  private readonly pieces: string[];
  private readonly kinds: Kind[];
  private readonly merges: MergeTable;
  private readonly space: string;
  private readonly addDummyPrefix: boolean;
  private readonly byteFallback: boolean;
  private readonly charIds = new Map<string, number>();
  private readonly pieceIds = new Map<string, number>();
  private readonly byteIds: (number | undefined)[] = new Array(256).fill(undefined);
  private readonly idBytes: (Uint8Array | undefined)[] = [];
  private readonly cache = new Map<string, number[]>();
  // NOTE: when no piece has the space inside it (only at its start), no merge can join the text
  // before a space to the text from it on, so encoding may cut the text before each space and
  // cache the words: same ids, ~10x faster on prose. null when some piece does span a space.
  private readonly wordStarts: RegExp | null;

  private constructor(p: Parts) {
    this.pieces = p.pieces;
    this.kinds = p.kinds;
    this.merges = p.merges;
    this.space = p.space;
    this.addDummyPrefix = p.addDummyPrefix;
    this.byteFallback = p.byteFallback;
    this.unkTokenId = p.unk;
    this.bosTokenId = p.bos;
    this.eosTokenId = p.eos;
    this.padTokenId = p.eos;
    p.pieces.forEach((piece, id) => {
      if (!this.pieceIds.has(piece)) this.pieceIds.set(piece, id);
      const m = BYTE_PIECE.exec(piece);
      if (p.kinds[id] === Kind.Byte && m) this.byteIds[parseInt(m[1], 16)] ??= id;
      // Single characters are the starting symbols; multi-character pieces arise only by merging.
      if (p.kinds[id] === Kind.Normal && [...piece].length === 1 && !this.charIds.has(piece)) {
        this.charIds.set(piece, id);
      }
    });
    const spans = p.pieces.some((piece, id) => p.kinds[id] === Kind.Normal && piece.indexOf(p.space, 1) > 0);
    this.wordStarts = spans ? null : new RegExp(`(?=${p.space})`);
  }

  /**
   * From a llama2.c tokenizer.bin, a path or its bytes (nb.io.fetchBytes). llama2.c takes the piece
   * count from the model header; without `vocabSize` the whole file is read.
   */
  static fromLlama2c(file: string | Bytes, vocabSize?: number): LlamaTokenizer {
    let buf: Uint8Array | undefined = typeof file === 'string' ? undefined : asBytes(file);
    const path = typeof file === 'string' ? file : '<bytes>';
    if (!buf) {
      if (typeof file !== 'string')
        throw new TypeError(`${WHO}.fromLlama2c: expected a path or bytes, got ${typeof file}`);
      try {
        buf = readFileSync(path);
      } catch (e) {
        throw new Error(`${WHO}: cannot read tokenizer file ${path}: ${(e as Error).message}`);
      }
    }
    const entries = parseLlama2c(buf, path, vocabSize);
    const pieces = entries.map((e) => e.piece);
    // llama2.c hard-codes 0, 1, 2 as <unk>, <s>, </s> (their pieces are '<unk>', '\n<s>\n', '\n</s>\n').
    const kinds = pieces.map((p, id) => (id < 3 ? Kind.Control : BYTE_PIECE.test(p) ? Kind.Byte : Kind.Normal));
    // Every split of a piece into two pieces is a merge, prioritised by the merged piece's score.
    const merges = new MergeTable();
    const ids = new Map<string, number>();
    pieces.forEach((p, id) => {
      if (kinds[id] === Kind.Normal && !ids.has(p)) ids.set(p, id);
    });
    pieces.forEach((p, id) => {
      if (kinds[id] !== Kind.Normal) return;
      for (let k = 1; k < p.length; k++) {
        const l = ids.get(p.slice(0, k));
        const r = ids.get(p.slice(k));
        if (l !== undefined && r !== undefined) merges.add(l, r, id, -entries[id].score);
      }
    });
    const display = ['<unk>', '<s>', '</s>'];
    return new LlamaTokenizer({
      pieces: pieces.map((p, id) => (id < 3 ? display[id] : p)),
      kinds,
      merges,
      space: ' ',
      addDummyPrefix: true,
      byteFallback: true,
      unk: pieces.length > 0 ? 0 : null,
      bos: pieces.length > 1 ? 1 : null,
      eos: pieces.length > 2 ? 2 : null,
    });
  }

  /**
   * From a Hugging Face Llama tokenizer.json (model.type 'BPE', '▁' for the space, byte_fallback).
   * Merges are applied by rank; a file without merges falls back to SentencePiece's score order
   * (score = -id), merging any pair whose concatenation is a piece.
   */
  static fromTokenizerJson(path: string): LlamaTokenizer {
    const json = readJson(WHO, 'tokenizer file', path) as LlamaTokenizerJson;
    const model = json?.model;
    if (typeof model !== 'object' || model === null) throw new Error(`${WHO}: ${path} has no "model" object`);
    if (model.type !== 'BPE') {
      throw new Error(`${WHO}: ${path} has model.type ${JSON.stringify(model.type)}; only 'BPE' is supported`);
    }
    const vocab = model.vocab;
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) {
      throw new Error(`${WHO}: ${path} model.vocab is not a {piece: id} map`);
    }
    const pieces: string[] = [];
    for (const [p, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || id < 0)
        throw new Error(`${WHO}: ${path} model.vocab id of ${JSON.stringify(p)} is ${id}`);
      pieces[id] = p;
    }
    const special = new Set<number>();
    for (const t of json.added_tokens ?? []) {
      pieces[t.id] = t.content;
      if (t.special !== false) special.add(t.id);
    }
    for (let i = 0; i < pieces.length; i++) {
      if (pieces[i] === undefined) throw new Error(`${WHO}: ${path} assigns no piece to id ${i}`);
    }
    const kinds = pieces.map((p, id) =>
      special.has(id) ? Kind.Control : BYTE_PIECE.test(p) ? Kind.Byte : Kind.Normal,
    );
    const ids = new Map<string, number>();
    pieces.forEach((p, id) => {
      if (kinds[id] === Kind.Normal && !ids.has(p)) ids.set(p, id);
    });
    const anyIds = new Map<string, number>();
    pieces.forEach((p, id) => {
      if (!anyIds.has(p)) anyIds.set(p, id);
    });
    const merges = new MergeTable();
    const rules = model.merges ?? [];
    if (!Array.isArray(rules)) throw new Error(`${WHO}: ${path} model.merges is not an array`);
    // NOTE: as in Hugging Face, a rule may join byte pieces too (ids from byte fallback).
    rules.forEach((m, rank) => {
      const [a, b] = Array.isArray(m) ? m : typeof m === 'string' ? m.split(' ') : [];
      const [l, r, out] = [anyIds.get(a), anyIds.get(b), anyIds.get(a + b)];
      if (l === undefined || r === undefined || out === undefined) {
        throw new Error(
          `${WHO}: ${path} model.merges[${rank}] ${JSON.stringify(m)} uses a piece missing from the vocab`,
        );
      }
      merges.add(l, r, out, rank);
    });
    if (rules.length === 0) {
      for (const [p, id] of ids) {
        for (let k = 1; k < p.length; k++) {
          const [l, r] = [ids.get(p.slice(0, k)), ids.get(p.slice(k))];
          if (l !== undefined && r !== undefined) merges.add(l, r, id, id);
        }
      }
    }
    const find = (c: string): number | null => anyIds.get(c) ?? null;
    return new LlamaTokenizer({
      pieces,
      kinds,
      merges,
      space: '▁',
      addDummyPrefix: addsDummyPrefix(json),
      byteFallback: model.byte_fallback ?? false,
      unk: model.unk_token ? find(model.unk_token) : find('<unk>'),
      bos: find('<s>'),
      eos: find('</s>'),
    });
  }

  /** From a folder holding tokenizer.json or tokenizer.bin (first found wins). */
  static async fromPretrained(dir: string): Promise<LlamaTokenizer> {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new Error(
        `${WHO}.fromPretrained: ${dir} is not a folder ` +
          '(for a Hugging Face Hub repo id, use models.AutoTokenizer.fromPretrained)',
      );
    }
    if (existsSync(join(dir, 'tokenizer.json'))) return LlamaTokenizer.fromTokenizerJson(join(dir, 'tokenizer.json'));
    if (existsSync(join(dir, 'tokenizer.bin'))) return LlamaTokenizer.fromLlama2c(join(dir, 'tokenizer.bin'));
    throw new Error(`${WHO}.fromPretrained: no tokenizer files in ${dir}; looked for tokenizer.json, tokenizer.bin`);
  }

  /**
   * Writes tokenizer.json (model BPE with byte fallback, '▁' for the space, merges best first),
   * tokenizer_config.json and special_tokens_map.json: the files fromPretrained reads first, here and
   * in transformers. A tokenizer.bin's score-ordered merges are written in score order (ties by id).
   * Returns the paths written.
   */
  savePretrained(dir: string): string[] {
    const sp = (p: string) => (this.space === '▁' ? p : p.replaceAll(this.space, '▁'));
    const vocab: Record<string, number> = {};
    const added: Record<string, unknown>[] = [];
    this.pieces.forEach((p, id) => {
      if (this.kinds[id] === Kind.Control) {
        const flags = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
        added.push({ id, content: p, ...flags });
      }
      const piece = this.kinds[id] === Kind.Normal ? sp(p) : p;
      if (!(piece in vocab)) vocab[piece] = id;
    });
    const rules = this.merges.rules().sort((a, b) => a[3] - b[3] || a[2] - b[2] || a[0] - b[0] || a[1] - b[1]);
    const merges = rules.map(([l, r]) => [this.pieceOf(l, sp), this.pieceOf(r, sp)]);
    const name = (id: number | null) => (id === null ? null : this.pieces[id]);
    const roles = {
      bos_token: name(this.bosTokenId),
      eos_token: name(this.eosTokenId),
      unk_token: name(this.unkTokenId),
    };
    const tokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: {
        type: 'Sequence',
        normalizers: [
          ...(this.addDummyPrefix ? [{ type: 'Prepend', prepend: '▁' }] : []),
          { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        ],
      },
      pre_tokenizer: null,
      post_processor: null,
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          ...(this.addDummyPrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
        ],
      },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: roles.unk_token,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: this.byteFallback,
        ignore_merges: false,
        vocab,
        merges,
      },
    };
    return writeTokenizerFiles(dir, {
      'tokenizer.json': tokenizerJson,
      'tokenizer_config.json': {
        tokenizer_class: 'LlamaTokenizerFast',
        add_bos_token: true,
        add_eos_token: false,
        legacy: false,
        ...roles,
      },
      'special_tokens_map.json': Object.fromEntries(Object.entries(roles).filter(([, v]) => v !== null)),
    });
  }

  private pieceOf(id: number, sp: (p: string) => string): string {
    return this.kinds[id] === Kind.Normal ? sp(this.pieces[id]) : this.pieces[id];
  }

  /** Number of pieces (ids 0 .. vocabSize-1). */
  get vocabSize(): number {
    return this.pieces.length;
  }

  /** Text -> ids: [<s>?] pieces [</s>?]. The empty string gives only the requested <s>/</s>. */
  encode(text: string, options: LlamaEncodeOptions = {}): number[] {
    const { bos = true, eos = false } = options;
    const out: number[] = [];
    if (bos) out.push(this.need(this.bosTokenId, 'bos'));
    if (text !== '') {
      let s = this.space === ' ' ? text : text.replaceAll(' ', this.space);
      if (this.addDummyPrefix) s = this.space + s;
      const chunks = this.wordStarts === null ? [s] : s.split(this.wordStarts);
      for (const chunk of chunks) {
        for (const id of this.encodeChunk(chunk)) out.push(id);
      }
    }
    if (eos) out.push(this.need(this.eosTokenId, 'eos'));
    return out;
  }

  /**
   * Ids -> text. Byte pieces are reassembled into UTF-8 (invalid sequences become U+FFFD), and the
   * leading space of the piece right after <s> is dropped, as llama2.c does.
   *
   * NOTE: `skipSpecialTokens` defaults to **true** here: SentencePiece's DecodeIds renders control
   * tokens (<unk>, <s>, </s>) as nothing, so that decode(encode(s)) === s although encode adds <s>.
   * Pass `{skipSpecialTokens: false}` to see them as '<s>' etc.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    checkIds(WHO, ids, this.vocabSize);
    const { skipSpecialTokens = true } = options;
    const sink = new ByteSink();
    let prev = -1;
    for (const id of ids) {
      const skip = skipSpecialTokens && this.kinds[id] === Kind.Control;
      if (!skip) {
        const bytes = this.bytesOf(id);
        const strip = prev === this.bosTokenId && this.kinds[id] === Kind.Normal && bytes[0] === 0x20;
        sink.pushAll(strip ? bytes.subarray(1) : bytes);
      }
      prev = id;
    }
    return sink.text();
  }

  /** Text -> pieces (no <s>), e.g. 'Hello' -> [' H', 'ell', 'o'] as the vocab splits it. */
  tokenize(text: string): string[] {
    return this.encode(text, { bos: false }).map((id) => this.pieces[id]);
  }

  /** The piece of an id, as stored ('▁' or ' ' for the space, '<0x0A>' for byte pieces). */
  idToPiece(id: number): string {
    checkIds(WHO, [id], this.vocabSize);
    return this.pieces[id];
  }

  /** Id of a piece, or unkTokenId (or -1 without one) when it is not in the vocab. */
  pieceToId(piece: string): number {
    return this.pieceIds.get(piece) ?? this.unkTokenId ?? -1;
  }

  /** Encodes several texts into padded rows with attention masks. */
  batchEncode(texts: readonly string[], options: BatchEncodeOptions & LlamaEncodeOptions = {}): BatchEncoding {
    return padBatch(
      WHO,
      texts.map((t) => this.encode(t, options)),
      this.padTokenId,
      options,
    );
  }

  // Initial symbols (characters, or their bytes), then merges; cached when chunks are words.
  private encodeChunk(chunk: string): number[] {
    let ids = this.cache.get(chunk);
    if (ids !== undefined) return ids;
    const symbols: number[] = [];
    for (const ch of chunk) {
      const id = this.charIds.get(ch);
      if (id !== undefined) {
        symbols.push(id);
      } else if (this.byteFallback) {
        for (const b of utf8.encode(ch)) symbols.push(this.byteIds[b] ?? this.need(this.unkTokenId, 'unk'));
      } else {
        symbols.push(this.need(this.unkTokenId, 'unk'));
      }
    }
    ids = this.merges.apply(symbols);
    if (this.wordStarts !== null) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(chunk, ids);
    }
    return ids;
  }

  private need(id: number | null, role: string): number {
    if (id === null) throw new Error(`${WHO}.encode: this vocab has no ${role} token`);
    return id;
  }

  private bytesOf(id: number): Uint8Array {
    let bytes = this.idBytes[id];
    if (bytes === undefined) {
      const piece = this.pieces[id];
      const m = BYTE_PIECE.exec(piece);
      if (this.kinds[id] === Kind.Byte && m) bytes = Uint8Array.of(parseInt(m[1], 16));
      else if (this.kinds[id] === Kind.Control) bytes = utf8.encode(piece);
      else bytes = utf8.encode(this.space === ' ' ? piece : piece.replaceAll(this.space, ' '));
      this.idBytes[id] = bytes;
    }
    return bytes;
  }
}

/** Reads the pieces of a llama2.c tokenizer.bin; `vocabSize` entries, or all when omitted. */
export function parseLlama2c(buf: Uint8Array, path: string, vocabSize?: number): LlamaPiece[] {
  if (vocabSize !== undefined && (!Number.isInteger(vocabSize) || vocabSize < 1)) {
    throw new RangeError(`${WHO}.fromLlama2c: vocabSize must be a positive integer, got ${vocabSize}`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 4)
    throw new Error(`${WHO}: ${path} is too short for a llama2.c tokenizer (${buf.byteLength} bytes)`);
  const out: LlamaPiece[] = [];
  let o = 4; // skip max_token_length
  while (vocabSize === undefined ? o < buf.byteLength : out.length < vocabSize) {
    if (o + 8 > buf.byteLength) {
      throw new Error(
        `${WHO}: ${path} ends inside piece ${out.length} (offset ${o}); expected ${vocabSize ?? 'more'} pieces`,
      );
    }
    const score = view.getFloat32(o, true);
    const len = view.getInt32(o + 4, true);
    if (len < 0 || o + 8 + len > buf.byteLength) {
      throw new Error(
        `${WHO}: ${path} piece ${out.length} at offset ${o} has a bad length ${len}; not a llama2.c tokenizer.bin?`,
      );
    }
    out.push({ score, piece: utf8Decode(buf.subarray(o + 8, o + 8 + len)) });
    o += 8 + len;
  }
  return out;
}

interface LlamaTokenizerJson {
  model?: { type?: string; vocab?: unknown; merges?: unknown[]; byte_fallback?: boolean; unk_token?: string | null };
  normalizer?: JsonStage | null;
  pre_tokenizer?: JsonStage | null;
  added_tokens?: { id: number; content: string; special?: boolean }[];
}

interface JsonStage {
  type?: string;
  prepend?: string;
  add_prefix_space?: boolean;
  prepend_scheme?: string;
  normalizers?: JsonStage[];
  pretokenizers?: JsonStage[];
}

// Llama 2 writes the dummy prefix as normalizer Prepend('▁'); newer files as a Metaspace
// pre-tokenizer with prepend_scheme 'first'/'always' (or legacy add_prefix_space).
function addsDummyPrefix(json: LlamaTokenizerJson): boolean {
  const stages = (s: JsonStage | null | undefined): JsonStage[] =>
    s ? [s, ...(s.normalizers ?? []).flatMap(stages), ...(s.pretokenizers ?? []).flatMap(stages)] : [];
  return [...stages(json.normalizer), ...stages(json.pre_tokenizer)].some(
    (s) =>
      (s.type === 'Prepend' && s.prepend === '▁') ||
      (s.type === 'Metaspace' &&
        (s.add_prefix_space === true || s.prepend_scheme === 'first' || s.prepend_scheme === 'always')),
  );
}
