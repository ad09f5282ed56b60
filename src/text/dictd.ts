// The dictd dictionary format (dictd(8), dictfmt(1)) and FreeDict entries, parsed from bytes already
// in memory: no file access here (dictd_file.ts reads and gunzips the files, in Node).
//
// An index line is `headword \t offset \t length`, the numbers in base64 digits (A-Z a-z 0-9 + /,
// most significant first) locating the entry's UTF-8 text in the uncompressed .dict. A FreeDict
// entry reads:
//   abblitzen lassen /ˈapblˌɪtsən lˈasən/ <v>        headword, IPA, part of speech
//    [domain] rebuffed <v>, spurred                   the translations, comma-separated
//         Note: ...                                   notes, synonyms, `see:` cross-references
//       "jdn. abblitzen lassen"  - send sb. packing   usage examples: a source phrase and its translation
//
// Untrusted input: every count and size is checked against a budget before anything is allocated.

export interface DictdIndexEntry {
  headword: string;
  offset: number;
  length: number;
}

export interface DictdBudget {
  /** Most index lines read. Default 2,000,000. */
  maxEntries?: number;
  /** Largest entry text in bytes. Default 1 MiB. */
  maxEntryBytes?: number;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));

/** A dictd number: base64 digits, most significant first ('BO' = 1*64 + 14 = 78). */
export function decodeDictdNumber(s: string, where = 'dictd'): number {
  if (s.length === 0 || s.length > 8) throw new Error(`${where}: bad base64 number '${s}' (1 to 8 digits expected)`);
  let v = 0;
  for (const c of s) {
    const d = B64_VALUE.get(c);
    if (d === undefined) throw new Error(`${where}: bad base64 digit '${c}' in '${s}'`);
    v = v * 64 + d;
  }
  return v;
}

/** Parses a .index file's text; throws naming the line on a malformed one. */
export function parseDictdIndex(text: string, budget: DictdBudget = {}): DictdIndexEntry[] {
  const maxEntries = budget.maxEntries ?? 2_000_000;
  const out: DictdIndexEntry[] = [];
  let line = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    const l = text.slice(start, end);
    start = end + 1;
    if (l.length === 0) continue;
    if (out.length >= maxEntries) throw new Error(`dictd index: more than ${maxEntries} entries (budget maxEntries)`);
    const f = l.split('\t');
    if (f.length !== 3) throw new Error(`dictd index line ${line}: expected 3 tab-separated fields, got ${f.length}`);
    const where = `dictd index line ${line}`;
    out.push({ headword: f[0], offset: decodeDictdNumber(f[1], where), length: decodeDictdNumber(f[2], where) });
  }
  return out;
}

/** The text of one entry from the uncompressed .dict bytes. */
export function dictdEntryText(dict: Uint8Array, e: DictdIndexEntry, budget: DictdBudget = {}): string {
  const max = budget.maxEntryBytes ?? 1 << 20;
  if (e.length > max) throw new Error(`dictd: entry '${e.headword}' has ${e.length} bytes, over the budget of ${max}`);
  if (e.offset + e.length > dict.length) {
    throw new Error(
      `dictd: entry '${e.headword}' at ${e.offset}+${e.length} runs past the end of the dictionary ` +
        `(${dict.length} bytes)`,
    );
  }
  return UTF8.decode(dict.subarray(e.offset, e.offset + e.length));
}

const UTF8 = new TextDecoder('utf-8');

/** One FreeDict entry: its headword, its translations, and its usage examples as [source, target] pairs. */
export interface FreedictEntry {
  headword: string;
  translations: string[];
  examples: [string, string][];
}

/** Splits on commas outside parentheses and brackets. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0,
    cur = '';
  for (const c of s) {
    if (c === '(' || c === '[') depth++;
    else if ((c === ')' || c === ']') && depth > 0) depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** A translation without its grammar tags (<n>, <v, trans>) and domain labels ([comp.]); '' if unusable. */
function cleanTranslation(s: string): string {
  const t = s
    .replace(/<[^>]*>/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  // NOTE: abbreviations print their IPA inline ("f.a.c.,  /ˈɛf/"); such pieces are not translations
  return /[/{}"<>]/.test(t) ? '' : t;
}

/** Parses one FreeDict entry text (see the top of this file). */
export function parseFreedictEntry(text: string): FreedictEntry {
  const lines = text.split('\n');
  const head = lines[0] ?? '';
  // headword, then an optional ' /IPA/', ' (symbol)' and ' <pos>'
  const ipa = head.search(/ \/[^ /]/);
  let headword = (ipa >= 0 ? head.slice(0, ipa) : head.replace(/ <[^>]*>\s*$/, '')).trim();
  headword = headword.replace(/ \([^)]*\)$/, '').trim();
  const translations: string[] = [];
  const examples: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    const ex = /^\s+"([^"]+)"\s+-\s+(.+)$/.exec(l);
    if (ex) {
      const tgt = cleanTranslation(ex[2]);
      if (tgt) examples.push([ex[1].trim(), tgt]);
      continue;
    }
    // the translation lines: right after the head, at most one leading space ([domain] labels)
    if (translations.length === 0 && i <= 2 && /^ ?\S/.test(l) && !/^ ?see:/.test(l)) {
      for (const piece of splitTopLevel(l)) {
        const t = cleanTranslation(piece);
        if (t) translations.push(t);
      }
    }
  }
  return { headword, translations, examples };
}

/** 32-bit FNV-1a of a string's UTF-16 units: a stable hash for splits that survive reordering. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface TranslationPairsOptions {
  /** Longest source or target kept, in characters. Default 32. */
  maxChars?: number;
  /** Keep one entry in `sample` (by a hash of its headword), for quick runs. Default 1 (all). */
  sample?: number;
  /** Include the usage examples as pairs (multi-word phrases). Default true. */
  examples?: boolean;
}

/** A source phrase with every translation the dictionary gives it. */
export interface TranslationGroup {
  source: string;
  targets: string[];
}

/**
 * Translation pairs from a FreeDict dictionary, grouped by source phrase (the same German phrase under
 * several entries has all their translations), in index order.
 */
export function freedictPairs(
  index: readonly DictdIndexEntry[],
  dict: Uint8Array,
  opts: TranslationPairsOptions & DictdBudget = {},
): TranslationGroup[] {
  const maxChars = opts.maxChars ?? 32,
    sample = opts.sample ?? 1;
  if (!Number.isInteger(sample) || sample < 1)
    throw new Error(`freedictPairs: sample must be a positive integer, got ${sample}`);
  const groups = new Map<string, Set<string>>();
  const add = (src: string, tgt: string) => {
    if (src.length === 0 || tgt.length === 0 || [...src].length > maxChars || [...tgt].length > maxChars) return;
    let g = groups.get(src);
    if (!g) {
      g = new Set();
      groups.set(src, g);
    }
    g.add(tgt);
  };
  for (const e of index) {
    if (e.headword.startsWith('00database') || e.headword.startsWith('00-database')) continue;
    if (sample > 1 && fnv1a(e.headword) % sample !== 0) continue;
    const entry = parseFreedictEntry(dictdEntryText(dict, e, opts));
    for (const t of entry.translations) add(entry.headword, t);
    if (opts.examples ?? true) for (const [s, t] of entry.examples) add(s, t);
  }
  return [...groups].map(([source, t]) => ({ source, targets: [...t] }));
}

/**
 * A deterministic split that holds out whole source phrases (headwords): a group goes to the held-out
 * part when the hash of its lower-cased source falls in the first `heldOut` fraction. The same phrase
 * lands on the same side whatever the budgets and the sampling.
 */
export function splitByHeadword<T extends { source: string }>(groups: readonly T[], heldOut = 0.1): [T[], T[]] {
  if (!(heldOut >= 0 && heldOut < 1)) throw new Error(`splitByHeadword: heldOut must be in [0, 1), got ${heldOut}`);
  const train: T[] = [],
    test: T[] = [];
  for (const g of groups) ((fnv1a(g.source.toLowerCase()) % 10000) / 10000 < heldOut ? test : train).push(g);
  return [train, test];
}
