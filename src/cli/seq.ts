// The sequence commands of the nabla CLI (loaded on demand by main.ts):
//   nabla translate TEXT... --model DIR [--num-beams K] ...     translate with a trained translator
//   nabla train-translate --out DIR [--arch transformer|lstm]   train one on FreeDict German-English
//   nabla train-lstm --data FILE --out DIR ...                  train a character LSTM language model
//   nabla generate-lstm --model DIR --prompt TEXT ...           sample from it

import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { setNumThreads } from '../backend/select.js';
import { Progbar } from '../keras/progbar.js';
import { FREEDICT_DEU_ENG, readFreedictPairs } from '../text/dictd_file.js';
import { splitByHeadword } from '../text/dictd.js';
import { Translator, evaluateTranslator, trainTranslator, type TranslatorArch } from '../models/translation.js';
import { loadCharLSTM, sampleCharLSTM, trainCharLSTM } from '../models/char_lstm.js';

export const SEQ_COMMANDS = ['translate', 'train-translate', 'train-lstm', 'generate-lstm'];

export const SEQ_USAGE = `nabla translate TEXT... --model DIR [options]
  --model DIR            a folder written by train-translate (or examples/translate.ts)
  --num-beams K          beam search with K beams (default 1: greedy)
  --num-return-sequences N   translations per text, best first (<= num-beams)
  --length-penalty L (1)  --early-stopping true|false|never (false)  --no-repeat-ngram-size N (0)
  --sample               sample instead (with --temperature T, --top-k K, --top-p P, --seed S)
  --json                 print [{"source", "translations"}] instead of lines

nabla train-translate --out DIR [options]        German -> English on Debian's dict-freedict-deu-eng
  --arch transformer|lstm (transformer)  --steps N (1500)  --batch-size B (64)  --lr LR
  --max-chars N (24)  --dict BASE (${FREEDICT_DEU_ENG})  --eval N (500 held-out phrases)  --seed S

nabla train-lstm --data FILE --out DIR [options] a character LSTM language model
  --max-iters N (600)  --batch-size B (16)  --block-size T (64)  --hidden-size H (256)
  --num-layers L (2)  --embedding-dim E (64)  --dropout P (0)  --lr LR (2e-3)  --eval-interval N (100)

nabla generate-lstm --model DIR --prompt TEXT [--max-new-tokens N (200)] [--temperature T (0.8)]
  [--top-k K] [--top-p P] [--seed S]              sampled with multinomial
  all four take --threads N`;

class SeqUsageError extends Error {}

type Opts = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

type Values = Record<string, string | boolean | undefined>;

function parse(argv: string[], options: Opts): { values: Values; positionals: string[] } {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...options, help: { type: 'boolean', short: 'h' }, threads: { type: 'string' } },
    }) as { values: Values; positionals: string[] };
  } catch (e) {
    throw new SeqUsageError((e as Error).message);
  }
}

function num(v: Record<string, unknown>, key: string, def: number, integer = false): number {
  const s = v[key];
  if (s === undefined) return def;
  const x = Number(s);
  if (typeof s !== 'string' || s.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x)))
    throw new SeqUsageError(`--${key} expects ${integer ? 'an integer' : 'a number'}, got '${String(s)}'`);
  return x;
}

const strings = (...names: string[]): Opts => Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));

function progress(label: string, target: number): Progbar {
  return new Progbar({ target, label, stream: process.stderr });
}

async function translateCommand(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse(argv, {
    ...strings('model', 'num-beams', 'num-return-sequences', 'length-penalty', 'early-stopping'),
    ...strings('no-repeat-ngram-size', 'temperature', 'top-k', 'top-p', 'seed'),
    sample: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (v.help) return void process.stdout.write(`${SEQ_USAGE}\n`);
  if (typeof v.model !== 'string') throw new SeqUsageError('translate needs --model DIR');
  if (!existsSync(v.model)) throw new SeqUsageError(`--model ${v.model} does not exist`);
  if (positionals.length === 0) throw new SeqUsageError('translate needs the text(s) to translate');
  const es = v['early-stopping'];
  if (es !== undefined && !['true', 'false', 'never'].includes(es as string))
    throw new SeqUsageError(`--early-stopping expects true, false or never, got '${es}'`);
  const t = await Translator.load(v.model);
  t.warn = (m) => process.stderr.write(`nabla: warning: ${m}\n`);
  const out = t.translateAll(positionals, {
    numBeams: num(v, 'num-beams', 1, true),
    numReturnSequences: num(v, 'num-return-sequences', 1, true),
    lengthPenalty: num(v, 'length-penalty', 1),
    earlyStopping: es === undefined ? false : es === 'never' ? 'never' : es === 'true',
    noRepeatNgramSize: num(v, 'no-repeat-ngram-size', 0, true),
    doSample: v.sample === true,
    temperature: num(v, 'temperature', 1),
    topK: num(v, 'top-k', 0, true),
    topP: num(v, 'top-p', 1),
    seed: num(v, 'seed', 0, true),
  });
  if (v.json) {
    process.stdout.write(`${JSON.stringify(positionals.map((s, i) => ({ source: s, translations: out[i] })))}\n`);
  } else for (const hs of out) process.stdout.write(`${hs.join('\n')}\n`);
}

async function trainTranslateCommand(argv: string[]): Promise<void> {
  const { values: v } = parse(
    argv,
    strings('out', 'arch', 'steps', 'batch-size', 'lr', 'max-chars', 'dict', 'eval', 'seed'),
  );
  if (v.help) return void process.stdout.write(`${SEQ_USAGE}\n`);
  if (typeof v.out !== 'string') throw new SeqUsageError('train-translate needs --out DIR');
  const arch = (v.arch ?? 'transformer') as TranslatorArch;
  if (arch !== 'transformer' && arch !== 'lstm')
    throw new SeqUsageError(`--arch expects transformer or lstm, got '${arch}'`);
  const dict = (v.dict as string | undefined) ?? FREEDICT_DEU_ENG;
  if (!existsSync(`${dict}.index`))
    throw new SeqUsageError(`${dict}.index does not exist (apt install dict-freedict-deu-eng, or pass --dict BASE)`);
  const maxChars = num(v, 'max-chars', 24, true),
    steps = num(v, 'steps', 1500, true);
  const [train, held] = splitByHeadword(readFreedictPairs(dict, { maxChars }), 0.1);
  process.stderr.write(`${train.length} phrases for training, ${held.length} held out\n`);
  const bar = progress(arch, steps);
  const r = trainTranslator(train, {
    arch,
    steps,
    maxChars,
    batchSize: num(v, 'batch-size', 64, true),
    lr: v.lr === undefined ? undefined : num(v, 'lr', 1e-3),
    seed: num(v, 'seed', 0, true),
    onStep: (s) => bar.update(s.step, { loss: s.loss }),
  });
  bar.update(steps, undefined, true);
  await r.translator.save(v.out);
  const s = evaluateTranslator(r.translator, held.slice(0, num(v, 'eval', 500, true)));
  process.stderr.write(
    `held out (${s.n}): exact match ${s.exactMatch.toFixed(1)}%, chrF ${s.chrF.toFixed(1)}, ` +
      `BLEU ${s.bleu.toFixed(1)}; saved ${v.out}\n`,
  );
}

async function trainLstmCommand(argv: string[]): Promise<void> {
  const { values: v } = parse(argv, {
    ...strings('data', 'out', 'max-iters', 'batch-size', 'block-size', 'hidden-size', 'num-layers'),
    ...strings('embedding-dim', 'dropout', 'lr', 'eval-interval', 'seed'),
  });
  if (v.help) return void process.stdout.write(`${SEQ_USAGE}\n`);
  if (typeof v.data !== 'string' || !existsSync(v.data))
    throw new SeqUsageError('train-lstm needs --data FILE (a text file)');
  const maxIters = num(v, 'max-iters', 600, true);
  const bar = progress('char-lstm', maxIters);
  const r = await trainCharLSTM({
    data: v.data,
    outDir: (v.out as string | undefined) ?? 'out-lstm',
    maxIters,
    batchSize: num(v, 'batch-size', 16, true),
    blockSize: num(v, 'block-size', 64, true),
    hiddenSize: num(v, 'hidden-size', 256, true),
    numLayers: num(v, 'num-layers', 2, true),
    embeddingDim: num(v, 'embedding-dim', 64, true),
    dropout: num(v, 'dropout', 0),
    lr: num(v, 'lr', 2e-3),
    evalInterval: num(v, 'eval-interval', 100, true),
    seed: num(v, 'seed', 1337, true),
    onStep: (s) => bar.update(s.iter, s.val === undefined ? { loss: s.loss } : { loss: s.loss, val_loss: s.val }),
  });
  bar.update(maxIters, undefined, true);
  const best = Math.min(...r.evals.map((e) => e.val));
  process.stderr.write(
    `best validation loss ${best.toFixed(4)}; saved ${(v.out as string | undefined) ?? 'out-lstm'}\n`,
  );
}

async function generateLstmCommand(argv: string[]): Promise<void> {
  const { values: v } = parse(
    argv,
    strings('model', 'prompt', 'max-new-tokens', 'temperature', 'top-k', 'top-p', 'seed'),
  );
  if (v.help) return void process.stdout.write(`${SEQ_USAGE}\n`);
  if (typeof v.model !== 'string' || !existsSync(v.model)) throw new SeqUsageError('generate-lstm needs --model DIR');
  const { model, encode, decode } = await loadCharLSTM(v.model);
  const prompt = (v.prompt as string | undefined) ?? '\n';
  const ids = sampleCharLSTM(model, encode(prompt === '' ? '\n' : prompt), {
    maxNewTokens: num(v, 'max-new-tokens', 200, true),
    temperature: num(v, 'temperature', 0.8),
    topK: num(v, 'top-k', 0, true),
    topP: num(v, 'top-p', 1),
    seed: num(v, 'seed', 0, true),
  });
  process.stdout.write(`${decode(ids)}\n`);
}

/** Runs one of SEQ_COMMANDS; returns the exit code (2 for a usage error). */
export async function seqCommand(cmd: string, argv: string[]): Promise<number> {
  const threads = argv.indexOf('--threads');
  try {
    if (threads >= 0) setNumThreads(num({ threads: argv[threads + 1] }, 'threads', 1, true));
    if (cmd === 'translate') await translateCommand(argv);
    else if (cmd === 'train-translate') await trainTranslateCommand(argv);
    else if (cmd === 'train-lstm') await trainLstmCommand(argv);
    else if (cmd === 'generate-lstm') await generateLstmCommand(argv);
    else throw new SeqUsageError(`unknown command '${cmd}'`);
    return 0;
  } catch (e) {
    const usage = e instanceof SeqUsageError;
    process.stderr.write(
      `nabla: ${(e as Error).message}\n${usage ? `run \`nabla ${cmd} --help\` for the options\n` : ''}`,
    );
    return usage ? 2 : 1;
  }
}
