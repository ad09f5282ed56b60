// nb.text: tokenizers. GPT-2 byte-level BPE (bpe.ts) and Llama SentencePiece BPE (sentencepiece.ts).
export { GPT2Tokenizer, GPT2_PATTERN, parseMerges } from './bpe.js';
export type { AddedToken, GPT2EncodeOptions, GPT2TokenizerOptions } from './bpe.js';
export { LlamaTokenizer, parseLlama2c } from './sentencepiece.js';
export type { LlamaEncodeOptions, LlamaPiece } from './sentencepiece.js';
export { BYTE_TO_CHAR, CHAR_TO_BYTE, bytesToChars } from './bytes_to_unicode.js';
export { MergeTable } from './merge.js';
export { TextStreamer, padBatch } from './tokenizer.js';
export type { BatchEncodeOptions, BatchEncoding, DecodeOptions, Tokenizer } from './tokenizer.js';
export {
  decodeDictdNumber,
  parseDictdIndex,
  dictdEntryText,
  parseFreedictEntry,
  freedictPairs,
  splitByHeadword,
  fnv1a,
  type DictdIndexEntry,
  type DictdBudget,
  type FreedictEntry,
  type TranslationGroup,
  type TranslationPairsOptions,
} from './dictd.js';
export { readDictd, readFreedictPairs, FREEDICT_DEU_ENG, type DictdFileBudget, type DictdFiles } from './dictd_file.js';
export { corpusBleu, corpusChrf, exactMatch, tokenize13a, type BleuResult } from './metrics.js';
