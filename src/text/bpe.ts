// GPT-2 byte-level BPE, exactly as openai/gpt-2 encoder.py: text -> regex words -> UTF-8 bytes ->
// byte-level characters (bytes_to_unicode.ts) -> rank-ordered merges -> ids.
//
// Files it reads: vocab.json (= OpenAI encoder.json, {token: id}), merges.txt (= OpenAI vocab.bpe,
// '#version' line then one 'a b' merge per line, best first), or Hugging Face tokenizer.json
// (model.type 'BPE' with a ByteLevel pre-tokenizer, plus added_tokens).
import { existsSync, statSync, join } from '../platform/node.js';
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from './bytes_to_unicode.js';
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
  readText,
  writeTokenizerFiles,
} from './tokenizer.js';

/**
 * GPT-2's pre-tokenisation regex, encoder.py's
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` with `\s` spelled
 * `\p{White_Space}`.
 *
 * NOTE: Python's `regex` module (and Rust tiktoken, and HF tokenizers) read `\s` as Unicode
 * White_Space; JavaScript's `\s` differs in two code points: it adds U+FEFF and lacks U+0085. The
 * JS ports gpt-3-encoder and js-tiktoken inherit that, so e.g. 'x \uFEFFy' splits differently
 * there; we follow encoder.py (test/golden/text_gpt2_encoder_py.json is its output).
 */
export const GPT2_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** A token matched as a whole in the text before BPE (Hugging Face `added_tokens`). */
export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens are dropped by `decode(ids, {skipSpecialTokens: true})`. Default true. */
  special?: boolean;
}

/** Construction options: extra tokens and which of them play the eos/bos/unk/pad roles. */
export interface GPT2TokenizerOptions {
  /** Tokens split out of the text before BPE. Default: `<|endoftext|>` when the vocab has it. */
  addedTokens?: readonly AddedToken[];
  /** Token contents for each role; `null` for none. All default to `<|endoftext|>` when present. */
  eosToken?: string | null;
  bosToken?: string | null;
  unkToken?: string | null;
  /** GPT-2 has no pad token; by default padding uses eos (as HF generate does). */
  padToken?: string | null;
}

/** Options of `GPT2Tokenizer.encode`. */
export interface GPT2EncodeOptions {
  /** Prepend bosTokenId (`<|endoftext|>`), GPT-2's document separator. Default false, like HF. */
  addSpecialTokens?: boolean;
  /**
   * Which special tokens are recognised when they occur in the text: 'all' (default, as HF),
   * 'none' (encode them as ordinary text, as tiktoken's `encode_ordinary`), or a list of contents.
   */
  allowedSpecial?: 'all' | 'none' | readonly string[];
}

const ENDOFTEXT = '<|endoftext|>';
const CACHE_LIMIT = 100_000;
const utf8 = new TextEncoder();
const WHO = 'GPT2Tokenizer';

/**
 * GPT-2 byte-level BPE tokenizer, id for id equal to OpenAI's encoder.py (and to tiktoken's
 * r50k_base). Any Unicode string round-trips through encode and decode.
 *
 * @example
 * ```ts
 * import * as nb from 'nabla';
 * const tok = await nb.text.GPT2Tokenizer.fromPretrained('../shared/data'); // gpt2-encoder.json + gpt2-vocab.bpe
 * const ids = tok.encode('Once upon a time');     // [7454, 2402, 257, 640]
 * tok.decode(ids);                                // 'Once upon a time'
 * tok.tokenize("it's");                           // ['it', "'s"]
 * const { inputIds, attentionMask } = tok.batchEncode(['Hi', 'Hello there'], { paddingSide: 'left' });
 * ```
 */
export class GPT2Tokenizer implements Tokenizer {
  readonly eosTokenId: number | null;
  readonly bosTokenId: number | null;
  readonly unkTokenId: number | null;
  /** Id used for padding in batchEncode; settable. */
  padTokenId: number | null;

  private readonly tokenToId = new Map<string, number>();
  private readonly idToToken: (string | undefined)[] = [];
  private readonly byteIds: number[];
  private readonly merges = new MergeTable();
  private readonly added = new Map<string, { id: number; special: boolean }>();
  private readonly specialIds = new Set<number>();
  private readonly idBytes: (Uint8Array | undefined)[] = [];
  private readonly cache = new Map<string, number[]>();
  private readonly splitters = new Map<string, RegExp | null>();
  // kept for savePretrained: the vocab and merges as given
  private readonly vocabIn: Readonly<Record<string, number>>;
  private readonly mergesIn: readonly (readonly [string, string])[];

  /**
   * @param vocab token -> id (byte-level strings, e.g. 'Ġthe' -> 262)
   * @param merges merge rules, best first, e.g. [['Ġ', 't'], ['Ġ', 'a'], ...]
   */
  constructor(
    vocab: Readonly<Record<string, number>>,
    merges: readonly (readonly [string, string])[],
    options: GPT2TokenizerOptions = {},
  ) {
    this.vocabIn = vocab;
    this.mergesIn = merges;
    for (const [tok, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || id < 0) throw new Error(`${WHO}: vocab id of ${JSON.stringify(tok)} is ${id}`);
      this.setToken(tok, id);
    }
    this.byteIds = BYTE_TO_CHAR.map((c, b) => {
      const id = this.tokenToId.get(c);
      if (id === undefined) throw new Error(`${WHO}: vocab lacks the byte token ${JSON.stringify(c)} (byte ${b})`);
      return id;
    });
    merges.forEach(([a, b], rank) => {
      const left = this.tokenToId.get(a);
      const right = this.tokenToId.get(b);
      const out = this.tokenToId.get(a + b);
      if (left === undefined || right === undefined || out === undefined) {
        throw new Error(`${WHO}: merge ${rank} '${a} ${b}' uses a token missing from the vocab`);
      }
      this.merges.add(left, right, out, rank);
    });
    const addedTokens =
      options.addedTokens ?? (ENDOFTEXT in vocab ? [{ id: vocab[ENDOFTEXT], content: ENDOFTEXT }] : []);
    for (const t of addedTokens) {
      const special = t.special ?? true;
      this.setToken(t.content, t.id);
      this.added.set(t.content, { id: t.id, special });
      if (special) this.specialIds.add(t.id);
    }
    const role = (content: string | null | undefined): number | null => {
      const c = content === undefined ? ENDOFTEXT : content;
      if (c === null) return null;
      const id = this.tokenToId.get(c);
      if (id === undefined && content !== undefined) throw new Error(`${WHO}: special token ${c} is not in the vocab`);
      return id ?? null;
    };
    this.eosTokenId = role(options.eosToken);
    this.bosTokenId = role(options.bosToken);
    this.unkTokenId = role(options.unkToken);
    this.padTokenId = options.padToken === undefined ? this.eosTokenId : role(options.padToken);
  }

  /**
   * From vocab.json + merges.txt (Hugging Face names) or encoder.json + vocab.bpe (OpenAI names).
   */
  static fromFiles(files: { vocab: string; merges: string }, options: GPT2TokenizerOptions = {}): GPT2Tokenizer {
    const vocab = asVocab(readJson(WHO, 'vocab file', files.vocab), files.vocab);
    return new GPT2Tokenizer(vocab, parseMerges(readText(WHO, 'merges file', files.merges), files.merges), options);
  }

  /** From a Hugging Face tokenizer.json with a byte-level BPE model. */
  static fromTokenizerJson(path: string, options: GPT2TokenizerOptions = {}): GPT2Tokenizer {
    const json = readJson(WHO, 'tokenizer file', path) as TokenizerJson;
    const model = json?.model;
    if (typeof model !== 'object' || model === null) throw new Error(`${WHO}: ${path} has no "model" object`);
    if (model.type !== undefined && model.type !== 'BPE') {
      throw new Error(`${WHO}: ${path} has model.type ${JSON.stringify(model.type)}; only 'BPE' is supported`);
    }
    if (model.byte_fallback || !usesByteLevel(json.pre_tokenizer)) {
      throw new Error(
        `${WHO}: ${path} is not a GPT-2 style byte-level tokenizer (no ByteLevel pre-tokenizer or byte_fallback ` +
          `set); ` +
          'for SentencePiece/Llama files use LlamaTokenizer.fromTokenizerJson',
      );
    }
    const vocab = asVocab(model.vocab, `${path} model.vocab`);
    if (!Array.isArray(model.merges)) throw new Error(`${WHO}: ${path} model.merges is not an array`);
    const merges = model.merges.map((m, i) => splitMerge(m, `${path} model.merges[${i}]`));
    const addedTokens = (json.added_tokens ?? []).map((t) => ({ id: t.id, content: t.content, special: t.special }));
    return new GPT2Tokenizer(vocab, merges, { addedTokens, ...options });
  }

  /**
   * From a folder holding tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe, or the
   * shared-data names gpt2-encoder.json + gpt2-vocab.bpe (first found wins). Special-token roles in
   * tokenizer_config.json / special_tokens_map.json are honoured.
   */
  static async fromPretrained(dir: string, options: GPT2TokenizerOptions = {}): Promise<GPT2Tokenizer> {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new Error(
        `${WHO}.fromPretrained: ${dir} is not a folder ` +
          '(for a Hugging Face Hub repo id, use models.AutoTokenizer.fromPretrained)',
      );
    }
    const opts = { ...readSpecialTokenRoles(dir), ...options };
    if (existsSync(join(dir, 'tokenizer.json')))
      return GPT2Tokenizer.fromTokenizerJson(join(dir, 'tokenizer.json'), opts);
    const pairs = [
      ['vocab.json', 'merges.txt'],
      ['encoder.json', 'vocab.bpe'],
      ['gpt2-encoder.json', 'gpt2-vocab.bpe'],
    ];
    for (const [v, m] of pairs) {
      const [hasV, hasM] = [existsSync(join(dir, v)), existsSync(join(dir, m))];
      if (hasV && hasM) return GPT2Tokenizer.fromFiles({ vocab: join(dir, v), merges: join(dir, m) }, opts);
      if (hasV !== hasM) {
        throw new Error(`${WHO}.fromPretrained: ${dir} has ${hasV ? v : m} but not ${hasV ? m : v}`);
      }
    }
    throw new Error(
      `${WHO}.fromPretrained: no tokenizer files in ${dir}; looked for tokenizer.json, ` +
        pairs.map((p) => p.join(' + ')).join(', '),
    );
  }

  /**
   * Writes the Hugging Face tokenizer files: vocab.json, merges.txt, tokenizer.json,
   * tokenizer_config.json and special_tokens_map.json (fromPretrained here and in transformers
   * reads them back). Returns the paths written.
   */
  savePretrained(dir: string): string[] {
    const content = (id: number | null) => (id === null ? null : (this.idToToken[id] ?? null));
    const roles = {
      bos_token: content(this.bosTokenId),
      eos_token: content(this.eosTokenId),
      unk_token: content(this.unkTokenId),
      pad_token: content(this.padTokenId),
    };
    const vocab: Record<string, number> = { ...this.vocabIn };
    const added = [...this.added]
      .sort((a, b) => a[1].id - b[1].id)
      .map(([c, t]) => ({
        id: t.id,
        content: c,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: t.special,
      }));
    for (const t of added) vocab[t.content] ??= t.id;
    const merges = this.mergesIn.map(([a, b]) => `${a} ${b}`);
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    const tokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges,
      },
    };
    const special = Object.fromEntries(Object.entries(roles).filter(([, v]) => v !== null));
    return writeTokenizerFiles(dir, {
      'vocab.json': vocab,
      'merges.txt': `#version: 0.2\n${merges.join('\n')}\n`,
      'tokenizer.json': tokenizerJson,
      'tokenizer_config.json': { tokenizer_class: 'GPT2Tokenizer', add_prefix_space: false, ...roles },
      'special_tokens_map.json': special,
    });
  }

  /** Number of ids (largest id + 1), including added tokens: 50257 for GPT-2. */
  get vocabSize(): number {
    return this.idToToken.length;
  }

  /**
   * Text -> ids. Any well-formed string round-trips through decode; a lone surrogate (not valid
   * Unicode) is encoded as U+FFFD, as TextEncoder and js-tiktoken do (Python's encoder.py raises).
   */
  encode(text: string, options: GPT2EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.addSpecialTokens) {
      if (this.bosTokenId === null) throw new Error(`${WHO}.encode: addSpecialTokens needs a bos token`);
      out.push(this.bosTokenId);
    }
    const splitter = this.splitter(options.allowedSpecial ?? 'all');
    if (splitter === null) {
      this.encodeOrdinary(text, out);
      return out;
    }
    let last = 0;
    for (const m of text.matchAll(splitter)) {
      this.encodeOrdinary(text.slice(last, m.index), out);
      out.push(this.added.get(m[0])!.id);
      last = m.index! + m[0].length;
    }
    this.encodeOrdinary(text.slice(last), out);
    return out;
  }

  /** Ids -> text. Invalid UTF-8 (e.g. half of a character) becomes U+FFFD, as in Hugging Face. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    checkIds(WHO, ids, this.vocabSize);
    const sink = new ByteSink();
    for (const id of ids) {
      if (options.skipSpecialTokens && this.specialIds.has(id)) continue;
      sink.pushAll(this.bytesOf(id));
    }
    return sink.text();
  }

  /** Text -> byte-level token strings, e.g. 'Hello world' -> ['Hello', 'Ġworld']. */
  tokenize(text: string, options: GPT2EncodeOptions = {}): string[] {
    return this.encode(text, options).map((id) => this.idToToken[id]!);
  }

  /** Token strings -> ids; unknown tokens map to unkTokenId, or throw when there is none. */
  convertTokensToIds(tokens: string): number;
  convertTokensToIds(tokens: readonly string[]): number[];
  convertTokensToIds(tokens: string | readonly string[]): number | number[] {
    const one = (t: string): number => {
      const id = this.tokenToId.get(t) ?? this.unkTokenId;
      if (id === null) throw new Error(`${WHO}.convertTokensToIds: unknown token ${JSON.stringify(t)}`);
      return id;
    };
    return typeof tokens === 'string' ? one(tokens) : tokens.map(one);
  }

  /** Ids -> token strings. */
  convertIdsToTokens(ids: readonly number[]): string[] {
    checkIds(WHO, ids, this.vocabSize);
    return ids.map((id) => {
      const t = this.idToToken[id];
      if (t === undefined) throw new RangeError(`${WHO}: id ${id} is not assigned in the vocab`);
      return t;
    });
  }

  /** Encodes several texts into padded rows with attention masks. */
  batchEncode(texts: readonly string[], options: BatchEncodeOptions & GPT2EncodeOptions = {}): BatchEncoding {
    return padBatch(
      WHO,
      texts.map((t) => this.encode(t, options)),
      this.padTokenId,
      options,
    );
  }

  private setToken(tok: string, id: number): void {
    this.tokenToId.set(tok, id);
    while (this.idToToken.length <= id) this.idToToken.push(undefined);
    this.idToToken[id] = tok;
  }

  // Regex matching the added tokens recognised under `allowed`, longest first; null for none.
  private splitter(allowed: 'all' | 'none' | readonly string[]): RegExp | null {
    const key = typeof allowed === 'string' ? allowed : JSON.stringify(allowed);
    if (!this.splitters.has(key)) {
      const ok = (c: string, special: boolean): boolean =>
        !special || allowed === 'all' || (allowed !== 'none' && allowed.includes(c));
      const contents = [...this.added].filter(([c, t]) => ok(c, t.special)).map(([c]) => c);
      contents.sort((a, b) => b.length - a.length);
      const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      this.splitters.set(key, contents.length ? new RegExp(contents.map(escapeRegExp).join('|'), 'g') : null);
    }
    return this.splitters.get(key)!;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    for (const m of text.matchAll(GPT2_PATTERN)) {
      const word = m[0];
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.merges.apply(Array.from(utf8.encode(word), (b) => this.byteIds[b]));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private bytesOf(id: number): Uint8Array {
    let bytes = this.idBytes[id];
    if (bytes === undefined) {
      const tok = this.idToToken[id];
      if (tok === undefined) throw new RangeError(`${WHO}.decode: id ${id} is not assigned in the vocab`);
      if (this.added.has(tok)) {
        bytes = utf8.encode(tok);
      } else {
        // NOTE: a character outside the byte table (a hand-made vocab) is kept as its own UTF-8.
        const parts = Array.from(tok, (c) => {
          const b = CHAR_TO_BYTE.get(c);
          return b === undefined ? Array.from(utf8.encode(c)) : [b];
        });
        bytes = Uint8Array.from(parts.flat());
      }
      this.idBytes[id] = bytes;
    }
    return bytes;
  }
}

// --- file formats ---------------------------------------------------------------------------

interface TokenizerJson {
  model?: { type?: string; vocab?: unknown; merges?: unknown[]; byte_fallback?: boolean };
  pre_tokenizer?: { type?: string; pretokenizers?: unknown[] } | null;
  added_tokens?: { id: number; content: string; special?: boolean }[];
}

function usesByteLevel(pre: TokenizerJson['pre_tokenizer']): boolean {
  if (!pre) return false;
  if (pre.type === 'ByteLevel') return true;
  if (pre.type === 'Sequence' && Array.isArray(pre.pretokenizers)) {
    return pre.pretokenizers.some((p) => usesByteLevel(p as TokenizerJson['pre_tokenizer']));
  }
  return false;
}

function asVocab(v: unknown, where: string): Record<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new Error(`${WHO}: ${where} is not a {token: id} map`);
  }
  for (const [k, id] of Object.entries(v)) {
    if (!Number.isInteger(id)) throw new Error(`${WHO}: ${where}: id of ${JSON.stringify(k)} is not an integer`);
  }
  return v as Record<string, number>;
}

function splitMerge(m: unknown, where: string): [string, string] {
  if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
    return [m[0], m[1]];
  }
  const parts = typeof m === 'string' ? m.split(' ') : [];
  if (parts.length !== 2) throw new Error(`${WHO}: ${where} is not a merge 'a b': ${JSON.stringify(m)}`);
  return [parts[0], parts[1]];
}

/** merges.txt / vocab.bpe text -> merge pairs, best first. */
export function parseMerges(text: string, path = 'merges'): [string, string][] {
  const lines = text.split(/\r?\n/);
  const out: [string, string][] = [];
  lines.forEach((line, i) => {
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    out.push(splitMerge(line, `${path} line ${i + 1}`));
  });
  return out;
}

// Reads eos/bos/unk/pad token roles from HF tokenizer_config.json or special_tokens_map.json.
function readSpecialTokenRoles(dir: string): GPT2TokenizerOptions {
  const roles: GPT2TokenizerOptions = {};
  for (const name of ['special_tokens_map.json', 'tokenizer_config.json']) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const cfg = readJson(WHO, 'config', path) as Record<string, unknown>;
    // NOTE: null ("no such token") is ignored, so that GPT-2's missing pad keeps the eos default.
    const content = (v: unknown): string | undefined =>
      typeof v === 'string' ? v : v && typeof v === 'object' && 'content' in v ? String(v.content) : undefined;
    for (const role of ['eos', 'bos', 'unk', 'pad'] as const) {
      const c = content(cfg[`${role}_token`]);
      if (c !== undefined) roles[`${role}Token`] = c;
    }
  }
  return roles;
}
