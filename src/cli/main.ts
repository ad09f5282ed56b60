#!/usr/bin/env node
// The `nabla` command line: text generation from GPT-2 / Llama checkpoints, and GPT training.
//   nabla generate --model PATH --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k K]
//                  [--top-p P] [--seed S] [--greedy] [--json] [--tokenizer FILE]
//   nabla train-gpt --data FILE [--out DIR] [--max-iters N] ...   (see `nabla train-gpt --help`)
//   nabla classify IMAGE... --arch ARCH --weights FILE             (src/cli/classify.ts)
//   nabla download REPO [--revision R] [--include GLOB]...         (Hugging Face Hub, into its cache)

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setNumThreads } from '../backend/select.js';
import { GPT2Tokenizer } from '../text/bpe.js';
import { LlamaTokenizer } from '../text/sentencepiece.js';
import { TextStreamer, type Tokenizer } from '../text/tokenizer.js';
import { GPT2LMHeadModel } from '../models/gpt2.js';
import { LlamaForCausalLM } from '../models/llama.js';
import { readConfigJson } from '../models/loading.js';
import { isQuantizedFolder, loadQuantized, quantizeWeights } from '../models/quantize.js';
import { CHAR_VOCAB, loadCharVocab, trainGPT } from '../models/train_gpt.js';
import { isRepoId } from '../hub/cache.js';
import { snapshotDownload } from '../hub/download.js';
import { fetchModelAndTokenizer, resolvePretrained } from '../hub/pretrained.js';
import type { GenerateOptions } from '../models/generation.js';
import { version } from '../util/version.js';

const USAGE = `usage: nabla <command> [options]

commands:
  generate    continue a prompt with a GPT-2 or Llama checkpoint, streaming the text
  train-gpt   train a GPT on a text file (character level), or fine-tune a GPT-2 folder
  classify    label images with an ImageNet/CIFAR classifier (\`nabla classify --help\`)
  quantize    int8/int4 weights for a GPT-2 or Llama checkpoint (\`nabla quantize --help\`)
  prune, distill, quantize-static   compression on MNIST / Fashion-MNIST (\`nabla prune --help\`)
  translate, train-translate, train-lstm, generate-lstm   seq2seq translation, char LSTM (\`nabla translate --help\`)
  explain     a Grad-CAM/saliency PNG overlay, or an LM's attention map (\`nabla explain --help\`)
  train-private  DP-SGD on Fashion-MNIST to a target (eps, delta) (\`nabla train-private --help\`)
  transcribe  spoken digits in a WAV file -> text; also kws, speak, speech-corpus (\`nabla transcribe -h\`)
  detect      boxes around clothing items and digits in an image (\`nabla detect --help\`; train-detector)
  download    fetch a Hugging Face Hub repo into the Hub cache and print its folder
  launch      start N ranks of a script under mpirun for nb.distributed (\`nabla launch --help\`)
  recommend   MovieLens recommendations (\`nabla recommend --user 42 --top 10\`; train-recommender trains)
  sample      a PNG grid from a VAE or DCGAN (\`nabla sample --model DIR --n 64\`; train-vae, train-dcgan)
  --version   print nabla's version

nabla download REPO [--revision R] [--include GLOB]... [--cache-dir DIR]
  REPO                   a repo id such as gpt2 or openai-community/gpt2
  --include GLOB         only files matching (* and ?; repeatable), e.g. --include '*.json'
  the cache is Python's (HF_HOME, HF_HUB_CACHE); HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE apply

nabla generate --model PATH --prompt TEXT [options]
  --model PATH           a Hugging Face folder (config.json + weights), a Hub repo id, or a llama2.c .bin
  --tokenizer FILE       tokenizer for a .bin (llama2.c tokenizer.bin) or to override the folder's
  --prompt TEXT          the text to continue (default: empty, i.e. start from BOS)
  --max-new-tokens N     default 64
  --temperature T        default 1.0; 0 means greedy
  --top-k K              keep the K most likely tokens (default off)
  --top-p P              nucleus sampling (default 0.9; 1 = off)
  --repetition-penalty R default 1 (off)
  --seed S               sampling seed (default 0)
  --greedy               argmax decoding
  --json                 print {"promptIds": [...], "ids": [...], "text": "..."} instead of streaming
  --threads N            compute threads
  --quantize int8|int4   weight-only quantization on load (a folder from \`nabla quantize\` needs none)

nabla train-gpt --data FILE [options]
  --out DIR              checkpoint folder (default out-gpt); load it with generate --model DIR
  --init DIR             fine-tune this GPT-2 folder instead of training a char-level model
  --max-iters N (1000)  --batch-size B (16)  --block-size T (128)
  --n-layer L (4)  --n-head H (4)  --n-embd C (128)  --dropout P (0)
  --lr LR (1e-3)  --min-lr (1e-4)  --warmup-iters (50)  --weight-decay (0.1)  --grad-clip (1.0)
  --eval-interval (100)  --eval-iters (10)  --seed (1337)  --sample-tokens (200)  --threads N
  --resume               continue the run in --out DIR from its resume.safetensors (saved at every
                         evaluation with the optimiser and RNG state), with the same options
`;

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: ParseArgsConfig['options']): Values {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' }, threads: { type: 'string' } },
      strict: true,
    }).values as Values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

class UsageError extends Error {}

function num(v: Values, key: string, def: number, integer = false): number {
  const s = v[key];
  if (s === undefined) return def;
  const x = Number(s);
  if (typeof s !== 'string' || s.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x))) {
    throw new UsageError(`--${key} expects ${integer ? 'an integer' : 'a number'}, got '${String(s)}'`);
  }
  return x;
}

interface Loaded {
  model: GPT2LMHeadModel | LlamaForCausalLM;
  tokenizer: Pick<Tokenizer, 'decode'>;
  /** Prompt text -> ids (Llama adds BOS; an empty GPT-2 prompt starts from <|endoftext|>). */
  encode(text: string): number[];
}

/** Loads a model and its tokenizer from a HF folder or a llama2.c .bin. */
export async function loadForGeneration(model: string, tokenizerPath?: string): Promise<Loaded> {
  if (!existsSync(model) && !isRepoId(model)) {
    throw new UsageError(`--model ${model} does not exist (nor is it a Hub repo id)`);
  }
  const path = existsSync(model) ? model : await resolvePretrained(model, 'nabla generate', {}, fetchModelAndTokenizer);
  if (!statSync(path).isDirectory()) {
    if (!tokenizerPath)
      throw new UsageError(`--model ${path} is a llama2.c checkpoint: pass --tokenizer FILE (its tokenizer.bin)`);
    const model = LlamaForCausalLM.fromLlama2c(path);
    const tok = LlamaTokenizer.fromLlama2c(tokenizerPath, model.config.vocabSize);
    return { model, tokenizer: tok, encode: (t) => tok.encode(t) };
  }
  if (!existsSync(join(path, 'config.json')))
    throw new UsageError(`--model ${path}: a model folder needs a config.json (Hugging Face layout)`);
  const type = readConfigJson(path, 'nabla').model_type;
  if (type === 'gpt2') {
    const model = isQuantizedFolder(path)
      ? (loadQuantized(path) as GPT2LMHeadModel)
      : await GPT2LMHeadModel.fromPretrained(path);
    if (!tokenizerPath && existsSync(join(path, CHAR_VOCAB))) {
      // a char-level model from train-gpt; an empty prompt starts from a newline
      const chars = loadCharVocab(path);
      return { model, tokenizer: chars, encode: (t) => chars.encode(t === '' ? '\n' : t) };
    }
    const tok = tokenizerPath
      ? await GPT2Tokenizer.fromPretrained(tokenizerPath)
      : await GPT2Tokenizer.fromPretrained(path);
    const bos = model.config.bosTokenId ?? tok.eosTokenId;
    return { model, tokenizer: tok, encode: (t) => (t === '' && bos !== null ? [bos] : tok.encode(t)) };
  }
  if (type === 'llama') {
    const model = isQuantizedFolder(path)
      ? (loadQuantized(path) as LlamaForCausalLM)
      : await LlamaForCausalLM.fromPretrained(path);
    const tok = tokenizerPath
      ? tokenizerPath.endsWith('.json')
        ? LlamaTokenizer.fromTokenizerJson(tokenizerPath)
        : LlamaTokenizer.fromLlama2c(tokenizerPath, model.config.vocabSize)
      : await LlamaTokenizer.fromPretrained(path);
    return { model, tokenizer: tok, encode: (t) => tok.encode(t) };
  }
  throw new UsageError(`${join(path, 'config.json')}: unknown model_type '${String(type)}' (supported: gpt2, llama)`);
}

async function generateCommand(args: string[]): Promise<void> {
  const v = parse(args, {
    model: { type: 'string' },
    tokenizer: { type: 'string' },
    prompt: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    seed: { type: 'string' },
    greedy: { type: 'boolean' },
    json: { type: 'boolean' },
    quantize: { type: 'string' },
  });
  if (v.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (typeof v.model !== 'string') throw new UsageError('generate needs --model PATH');
  if (v.threads !== undefined) setNumThreads(num(v, 'threads', 1, true));
  const temperature = num(v, 'temperature', 1);
  if (temperature < 0) throw new UsageError(`--temperature must be >= 0, got ${temperature}`);
  const greedy = v.greedy === true || temperature === 0;
  const opts: GenerateOptions = {
    maxNewTokens: num(v, 'max-new-tokens', 64, true),
    doSample: !greedy,
    temperature: greedy ? 1 : temperature,
    topK: num(v, 'top-k', 0, true),
    topP: num(v, 'top-p', 0.9),
    repetitionPenalty: num(v, 'repetition-penalty', 1),
    seed: num(v, 'seed', 0, true),
  };
  const { model, tokenizer, encode } = await loadForGeneration(v.model, v.tokenizer as string | undefined);
  if (typeof v.quantize === 'string') {
    if (v.quantize !== 'int8' && v.quantize !== 'int4')
      throw new UsageError(`--quantize expects int8 or int4, got '${v.quantize}'`);
    quantizeWeights(model, { bits: v.quantize === 'int8' ? 8 : 4 });
  }
  const prompt = (v.prompt as string | undefined) ?? '';
  const promptIds = encode(prompt);
  const streamer = new TextStreamer(tokenizer, { skipSpecialTokens: true, promptIds });
  if (!v.json) {
    process.stdout.write(tokenizer.decode(promptIds, { skipSpecialTokens: true }));
    opts.streamer = (id) => process.stdout.write(streamer.push(id));
  }
  const t0 = performance.now();
  const ids = model.generate(promptIds, opts)[0];
  const secs = (performance.now() - t0) / 1000;
  if (v.json) {
    process.stdout.write(
      JSON.stringify({ promptIds, ids, text: tokenizer.decode(ids, { skipSpecialTokens: true }) }) + '\n',
    );
  } else {
    process.stdout.write(streamer.flush() + '\n');
    process.stderr.write(
      `[${ids.length - promptIds.length} tokens in ${secs.toFixed(2)} s: ` +
        `${((ids.length - promptIds.length) / secs).toFixed(1)} tokens/s]\n`,
    );
  }
}

async function trainCommand(args: string[]): Promise<void> {
  const v = parse(args, {
    ...Object.fromEntries(
      [
        'data',
        'out',
        'init',
        'max-iters',
        'batch-size',
        'block-size',
        'n-layer',
        'n-head',
        'n-embd',
        'dropout',
        'lr',
        'min-lr',
        'warmup-iters',
        'weight-decay',
        'grad-clip',
        'eval-interval',
        'eval-iters',
        'seed',
        'sample-tokens',
      ].map((k) => [k, { type: 'string' as const }]),
    ),
    resume: { type: 'boolean' },
  });
  if (v.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (typeof v.data !== 'string') throw new UsageError('train-gpt needs --data FILE');
  if (!existsSync(v.data)) throw new UsageError(`--data ${v.data} does not exist`);
  if (v.threads !== undefined) setNumThreads(num(v, 'threads', 1, true));
  const tty = process.stderr.isTTY;
  const r = await trainGPT({
    data: v.data,
    outDir: (v.out as string | undefined) ?? 'out-gpt',
    init: v.init as string | undefined,
    maxIters: num(v, 'max-iters', 1000, true),
    batchSize: num(v, 'batch-size', 16, true),
    blockSize: num(v, 'block-size', 128, true),
    nLayer: num(v, 'n-layer', 4, true),
    nHead: num(v, 'n-head', 4, true),
    nEmbd: num(v, 'n-embd', 128, true),
    dropout: num(v, 'dropout', 0),
    lr: num(v, 'lr', 1e-3),
    minLr: num(v, 'min-lr', 1e-4),
    warmupIters: num(v, 'warmup-iters', 50, true),
    weightDecay: num(v, 'weight-decay', 0.1),
    gradClip: num(v, 'grad-clip', 1),
    evalInterval: num(v, 'eval-interval', 100, true),
    evalIters: num(v, 'eval-iters', 10, true),
    seed: num(v, 'seed', 1337, true),
    sampleTokens: num(v, 'sample-tokens', 200, true),
    logInterval: tty ? 0 : 10,
    resume: v.resume === true,
    log: (line, transient) => {
      if (transient) {
        if (tty) process.stderr.write(`\r${line}\x1b[K`);
        return;
      }
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);
    },
  });
  const last = r.evals[r.evals.length - 1];
  process.stderr.write(
    `${tty ? '\n' : ''}done: val loss ${last.val.toFixed(4)} (best ` +
      `${Math.min(...r.evals.map((e) => e.val)).toFixed(4)}), ` +
      `${Math.round(r.tokensPerSecond)} tok/s, ${r.wallSeconds.toFixed(1)} s wall (${r.cpuSeconds.toFixed(1)} s ` +
      `CPU), checkpoint ${r.checkpoint}\n`,
  );
  if (r.sample) process.stdout.write(`${r.sample}\n`);
}

/** A glob of file names (* and ? only, '*' crossing '/' as huggingface_hub's fnmatch does) as a test. */
function globTest(glob: string): (file: string) => boolean {
  const re = new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return (f) => re.test(f);
}

const DOWNLOAD_OPTIONS = {
  revision: { type: 'string' },
  include: { type: 'string', multiple: true },
  'cache-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function downloadCommand(args: string[]): Promise<void> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: typeof DOWNLOAD_OPTIONS }>
  >;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: DOWNLOAD_OPTIONS });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('download needs one REPO (e.g. openai-community/gpt2)');
  const repo = positionals[0];
  if (!isRepoId(repo)) throw new UsageError(`'${repo}' is not a Hub repo id (name or org/name)`);
  const tests = (v.include ?? []).map(globTest);
  const dir = await snapshotDownload(repo, {
    revision: v.revision,
    cacheDir: v['cache-dir'],
    allow: tests.length ? (f) => tests.some((t) => t(f)) : undefined,
  });
  process.stdout.write(`${dir}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === 'generate') await generateCommand(rest);
    else if (cmd === 'train-gpt') await trainCommand(rest);
    else if (cmd === 'download') await downloadCommand(rest);
    // NOTE: imported on demand, so generate/train-gpt do not load the image codecs.
    else if (cmd === 'classify') return await (await import('./classify.js')).classifyCommand(rest);
    else if (cmd === 'launch') return await (await import('./launch.js')).launchCommand(rest);
    else if (cmd === 'quantize') return await (await import('./quantize.js')).quantizeCommand(rest);
    else if (cmd === 'recommend') return await (await import('./recommend.js')).recommendCommand(rest);
    else if (cmd === 'train-recommender') return await (await import('./recommend.js')).trainRecommenderCommand(rest);
    else if (['sample', 'train-vae', 'train-dcgan'].includes(cmd))
      return await (await import('./generative.js')).generativeCommand(cmd, rest);
    else if (/^(translate|train-translate|train-lstm|generate-lstm)$/.test(cmd ?? ''))
      return (await import('./seq.js')).seqCommand(cmd, rest);
    else if (cmd === 'explain') return await (await import('./explain.js')).explainCommand(rest);
    else if (cmd === 'train-private') return await (await import('./privacy.js')).trainPrivateCommand(rest);
    else if (['prune', 'distill', 'quantize-static'].includes(cmd))
      return await (await import('./compress.js')).compressCommand(cmd, rest);
    else if (['transcribe', 'kws', 'speak', 'speech-corpus'].includes(cmd))
      return await (await import('./speech.js')).speechCommand(cmd, rest);
    else if (cmd === 'detect' || cmd === 'train-detector')
      return await (await import('./detect.js')).detectCommand(cmd, rest);
    else if (cmd === '--version' || cmd === '-v' || cmd === 'version') process.stdout.write(`${version}\n`);
    else if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') process.stdout.write(USAGE);
    else throw new UsageError(`unknown command '${cmd}'`);
    return 0;
  } catch (e) {
    const err = e as Error;
    process.stderr.write(
      `nabla: ${err.message}\n${err instanceof UsageError ? 'run `nabla --help` for the options\n' : ''}`,
    );
    return err instanceof UsageError ? 2 : 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
