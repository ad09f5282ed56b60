// Reading a dictd dictionary from disk (Node only): the .index as UTF-8 and the .dict.dz through
// gunzip (dictzip is gzip with a random-access table in its header, which gunzip skips), with a cap
// on the decompressed size. The parsing itself is dictd.ts, pure.

import { existsSync, gunzipSync, readFileSync, statSync } from '../platform/node.js';
import {
  type DictdBudget,
  type DictdIndexEntry,
  type TranslationGroup,
  type TranslationPairsOptions,
  freedictPairs,
  parseDictdIndex,
} from './dictd.js';

/** Debian's dict-freedict-deu-eng, without the extensions. */
export const FREEDICT_DEU_ENG = '/usr/share/dictd/freedict-deu-eng';

export interface DictdFileBudget extends DictdBudget {
  /** Largest .index file read, in bytes. Default 64 MiB. */
  maxIndexBytes?: number;
  /** Largest uncompressed .dict, in bytes. Default 512 MiB. */
  maxDictBytes?: number;
}

export interface DictdFiles {
  index: DictdIndexEntry[];
  dict: Uint8Array;
}

/** Reads base.index and base.dict.dz (or base.dict). */
export function readDictd(base: string, budget: DictdFileBudget = {}): DictdFiles {
  const maxIndex = budget.maxIndexBytes ?? 64 << 20,
    maxDict = budget.maxDictBytes ?? 512 << 20;
  const indexPath = `${base}.index`;
  if (!existsSync(indexPath)) throw new Error(`readDictd: ${indexPath} does not exist`);
  const size = statSync(indexPath).size;
  if (size > maxIndex) throw new Error(`readDictd: ${indexPath} has ${size} bytes, over the budget of ${maxIndex}`);
  const index = parseDictdIndex(readFileSync(indexPath, 'utf8'), budget);
  let dict: Uint8Array;
  if (existsSync(`${base}.dict.dz`)) {
    try {
      dict = gunzipSync(readFileSync(`${base}.dict.dz`), { maxOutputLength: maxDict });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_BUFFER_TOO_LARGE')
        throw new Error(`readDictd: ${base}.dict.dz inflates past the budget of ${maxDict} bytes`);
      throw new Error(`readDictd: ${base}.dict.dz is not a valid gzip/dictzip file (${err.message})`);
    }
  } else if (existsSync(`${base}.dict`)) {
    const n = statSync(`${base}.dict`).size;
    if (n > maxDict) throw new Error(`readDictd: ${base}.dict has ${n} bytes, over the budget of ${maxDict}`);
    dict = readFileSync(`${base}.dict`);
  } else throw new Error(`readDictd: neither ${base}.dict.dz nor ${base}.dict exists`);
  return { index, dict };
}

/** Translation groups of a FreeDict dictionary on disk (default: German-English). */
export function readFreedictPairs(
  base = FREEDICT_DEU_ENG,
  opts: TranslationPairsOptions & DictdFileBudget = {},
): TranslationGroup[] {
  const { index, dict } = readDictd(base, opts);
  return freedictPairs(index, dict, opts);
}
