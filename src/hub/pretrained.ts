// fromPretrained's name resolution: a local folder is used as it is; anything else that reads as a
// repo id ('gpt2', 'openai-community/gpt2') is fetched file by file into the Hub cache, and the
// snapshot folder (snapshots/{commit}) is handed to the folder loaders. Only the files a loader
// reads are fetched: config.json, the weights in their order of preference, the tokenizer files.

import { existsSync, readFileSync, join } from '../platform/node.js';
import { type HubOptions, isRepoId } from './cache.js';
import { HubError, hfHubDownload } from './download.js';

/** Fetches one file of the repo; an optional one gives null when the repo (or, offline, the cache) lacks it. */
export type FileGetter = (file: string, optional?: boolean) => Promise<string | null>;

/**
 * The folder to load `nameOrPath` from: itself when it exists on disk, else the Hub snapshot of the
 * repo it names once `fetch` has fetched the files the loader needs.
 */
export async function resolvePretrained(
  nameOrPath: string,
  who: string,
  options: HubOptions,
  fetch: (get: FileGetter) => Promise<void>,
): Promise<string> {
  if (existsSync(nameOrPath)) return nameOrPath;
  if (!isRepoId(nameOrPath)) {
    throw new Error(
      `${who}.fromPretrained: '${nameOrPath}' is not a folder, nor a Hugging Face Hub repo id (name or org/name)`,
    );
  }
  let dir: string | null = null;
  const get: FileGetter = async (file, optional = false) => {
    try {
      const p = await hfHubDownload(nameOrPath, file, options);
      dir ??= p.slice(0, p.length - file.length - 1);
      return p;
    } catch (e) {
      const code = e instanceof HubError ? e.code : null;
      if (optional && (code === 'EntryNotFound' || code === 'OfflineNotCached')) return null;
      throw new Error(`${who}.fromPretrained('${nameOrPath}'): ${(e as Error).message}`, { cause: e });
    }
  };
  try {
    await fetch(get);
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.startsWith(`${who}.fromPretrained`)) throw e;
    throw new Error(`${who}.fromPretrained('${nameOrPath}'): ${msg}`, { cause: e });
  }
  if (dir === null) throw new Error(`${who}.fromPretrained('${nameOrPath}'): no file of the repo was fetched`);
  return dir;
}

/** config.json, generation_config.json and the weights: safetensors, sharded safetensors or pytorch_model.bin. */
export async function fetchModelFiles(get: FileGetter): Promise<void> {
  await get('config.json');
  await get('generation_config.json', true);
  if (await get('model.safetensors', true)) return;
  const index = await get('model.safetensors.index.json', true);
  if (index) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    for (const f of new Set(Object.values(map))) await get(f);
    return;
  }
  if (await get('pytorch_model.bin', true)) return;
  throw new HubError(
    'hub: the repo has none of model.safetensors, model.safetensors.index.json, pytorch_model.bin ' +
      '(or, offline, none is cached)',
    404,
    'EntryNotFound',
  );
}

/** The tokenizer files nabla reads: tokenizer.json, else vocab.json + merges.txt, else tokenizer.bin; plus configs. */
export async function fetchTokenizerFiles(get: FileGetter): Promise<void> {
  await get('tokenizer_config.json', true);
  await get('special_tokens_map.json', true);
  await get('config.json', true);
  if (await get('tokenizer.json', true)) return;
  if (await get('vocab.json', true)) {
    await get('merges.txt');
    return;
  }
  if (await get('tokenizer.bin', true)) return;
  throw new HubError(
    'hub: the repo has none of tokenizer.json, vocab.json + merges.txt, tokenizer.bin ' +
      '(or, offline, none is cached)',
    404,
    'EntryNotFound',
  );
}

/** Model and tokenizer files together (AutoTokenizer + AutoModelForCausalLM of one repo, pipelines). */
export async function fetchModelAndTokenizer(get: FileGetter): Promise<void> {
  await fetchModelFiles(get);
  await fetchTokenizerFiles(get);
}

/** Reads a JSON file of a resolved folder, or undefined when it is absent. */
export function readJsonIfAny(dir: string, file: string): Record<string, unknown> | undefined {
  const p = join(dir, file);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : undefined;
}
