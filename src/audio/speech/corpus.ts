// The synthetic speech corpus of issue 20, made here: espeak-ng speaks keywords and digit strings with
// many voices (accent + variant), speeds and pitches; sox resamples to 16 kHz and adds reverb; the
// noise is added here with a seeded generator (sox's own noise and dither are not reproducible).
// Everything derives from (seed, index), so the same options give the same bytes on every run.
// Voices are split, not utterances: the test split's voices never occur in training.

import {
  createHash,
  existsSync,
  homedir,
  join,
  mkdirSync,
  mkdtempSync,
  process,
  readFileSync,
  rmSync,
  spawnSync,
  tmpdir,
} from '../../platform/node.js';
import { writeTextAtomic } from '../../io/atomic.js';
import { Generator } from '../../tensor/random.js';
import { fromTypedArray } from '../../tensor/creation.js';
import { decodeWav, load, save } from '../wav.js';

export const SAMPLE_RATE = 16000;
/** The ten keywords of Speech Commands v1, plus silence-free digits in the digits corpus. */
export const KEYWORDS = ['yes', 'no', 'up', 'down', 'left', 'right', 'on', 'off', 'stop', 'go'] as const;
export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;
export const ACCENTS = [
  'en-gb',
  'en-us',
  'en-gb-scotland',
  'en-gb-x-gbclan',
  'en-gb-x-rp',
  'en-gb-x-gbcwmd',
  'en-029',
  'en-us-nyc',
] as const;
export const VARIANTS = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'f1', 'f2', 'f3', 'f4', 'f5'] as const;

/** Every voice, accent+variant (96). */
export function allVoices(): string[] {
  return ACCENTS.flatMap((a) => VARIANTS.map((v) => `${a}+${v}`));
}

/**
 * The held-out voices: a fixed fifth of them, chosen by a hash of the name, so that every accent and
 * every variant occurs in training but the test combinations never do.
 */
export function isTestVoice(voice: string): boolean {
  return createHash('sha1').update(voice).digest()[0] % 5 === 0;
}

/** Whether espeak-ng and sox are on PATH (tests skip with this reason when not). */
export function speechToolsMissing(): string | null {
  for (const tool of ['espeak-ng', 'sox']) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (r.error) return `${tool} is not installed (apt-get install espeak-ng sox)`;
  }
  return null;
}

export interface UtteranceParams {
  text: string;
  voice: string;
  /** words per minute (espeak-ng -s) */
  speed: number;
  /** 0-99 (espeak-ng -p) */
  pitch: number;
  /** sox reverberance 0-100; 0 = dry */
  reverb: number;
  /** signal-to-noise ratio in dB of added white noise; null = clean */
  snrDb: number | null;
  /** seed of the noise */
  noiseSeed: number;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`speech corpus: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`speech corpus: ${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

/** Speaks one utterance: (L) float32 at 16 kHz, peak-normalised to 0.9 before noise. */
export function synthesize(p: UtteranceParams, work: string): Float32Array {
  const raw = join(work, 'espeak.wav'),
    out = join(work, 'sox.wav');
  run('espeak-ng', ['-v', p.voice, '-s', String(p.speed), '-p', String(p.pitch), '-w', raw, p.text]);
  // NOTE: -D: no dither, which is random and would make the corpus differ between runs.
  const effects = p.reverb > 0 ? ['reverb', String(p.reverb)] : [];
  run('sox', [raw, '-D', '-r', String(SAMPLE_RATE), '-b', '16', out, ...effects]);
  const x = load(out).waveform.toTypedArray() as Float32Array;
  let peak = 1e-9;
  for (const v of x) peak = Math.max(peak, Math.abs(v));
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = (x[i] / peak) * 0.9;
  if (p.snrDb !== null) {
    let power = 0;
    for (const v of y) power += v * v;
    const sigma = Math.sqrt(power / Math.max(1, y.length) / 10 ** (p.snrDb / 10));
    const g = new Generator(p.noiseSeed);
    for (let i = 0; i < y.length; i++) y[i] = Math.max(-1, Math.min(1, y[i] + sigma * g.randn()));
  }
  return y;
}

export interface CorpusOptions {
  kind: 'keywords' | 'digits';
  /** Utterances per voice (keywords: per word and voice). */
  perVoice: number;
  /** Keywords: restrict to these words (default all ten). */
  words?: string[];
  /** No reverb and no noise (the speed and pitch still vary): a corpus to learn synthesis from. */
  clean?: boolean;
  /** Restrict to these voices (default all 96). */
  voices?: string[];
  /** Digit strings: lengths from minDigits to maxDigits (default 3 to 5). */
  minDigits?: number;
  maxDigits?: number;
  seed?: number;
}

export interface CorpusItem {
  file: string;
  /** keywords: the word; digits: the digits without spaces, e.g. '427' */
  label: string;
  /** what espeak-ng spoke */
  text: string;
  voice: string;
  split: 'train' | 'test';
  samples: number;
}

export interface Corpus {
  dir: string;
  options: CorpusOptions;
  items: CorpusItem[];
}

/** The default cache folder of corpora: $NABLA_CACHE or ~/.cache/nabla, then speech/<name>. */
export function defaultCorpusDir(name: string): string {
  const root = process.env.NABLA_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nabla');
  return join(root, 'speech', name);
}

export type PlannedUtterance = Omit<CorpusItem, 'file' | 'samples'> & { params: UtteranceParams };

/** The utterance list of a corpus, before any audio is made: deterministic in the options. */
export function plan(o: CorpusOptions): PlannedUtterance[] {
  const g = new Generator(o.seed ?? 20);
  const voices = o.voices ?? allVoices();
  const out: PlannedUtterance[] = [];
  const params = (text: string, voice: string): UtteranceParams => {
    const p = {
      text,
      voice,
      speed: 120 + g.randint(0, 71),
      pitch: 25 + g.randint(0, 51),
      reverb: g.random() < 0.4 ? 20 + g.randint(0, 41) : 0,
      snrDb: g.random() < 0.5 ? 10 + g.randint(0, 21) : null,
      noiseSeed: g.randint(0, 2 ** 31 - 1),
    };
    return o.clean ? { ...p, reverb: 0, snrDb: null } : p;
  };
  for (const voice of voices) {
    const split = isTestVoice(voice) ? 'test' : 'train';
    for (let k = 0; k < o.perVoice; k++) {
      if (o.kind === 'keywords') {
        for (const w of o.words ?? KEYWORDS) out.push({ label: w, text: w, voice, split, params: params(w, voice) });
      } else {
        const lo = o.minDigits ?? 3,
          hi = o.maxDigits ?? 5;
        const n = lo + g.randint(0, hi - lo + 1);
        const digits = Array.from({ length: n }, () => g.randint(0, 10));
        const text = digits.map((d) => DIGIT_WORDS[d]).join(' ');
        out.push({ label: digits.join(''), text, voice, split, params: params(text, voice) });
      }
    }
  }
  return out;
}

/**
 * Builds (or reuses) a corpus in `dir`: one 16 kHz WAV per utterance and manifest.json. A manifest
 * whose options equal these is reused as it is; otherwise the folder is rebuilt.
 */
export function buildCorpus(dir: string, o: CorpusOptions, log?: (msg: string) => void): Corpus {
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Corpus;
    if (JSON.stringify(m.options) === JSON.stringify(o)) return { ...m, dir };
  }
  const missing = speechToolsMissing();
  if (missing) throw new Error(`buildCorpus(${dir}): ${missing}`);
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'nabla-speech-'));
  const items: CorpusItem[] = [];
  try {
    const utts = plan(o);
    utts.forEach((u, i) => {
      const y = synthesize(u.params, work);
      const file = `${String(i).padStart(5, '0')}.wav`;
      save(join(dir, file), fromTypedArray(y, [1, y.length]), SAMPLE_RATE);
      items.push({ file, label: u.label, text: u.text, voice: u.voice, split: u.split, samples: y.length });
      if (log && (i + 1) % 200 === 0) log(`${i + 1}/${utts.length} utterances`);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const corpus = { dir, options: o, items };
  writeTextAtomic(manifestPath, JSON.stringify({ options: o, items }, null, 1));
  return corpus;
}

/** Where the examples save trained speech models and the CLI looks for them: <cache>/speech/models/<name>. */
export function defaultModelDir(name: 'kws' | 'asr' | 'tts'): string {
  return join(defaultCorpusDir('models'), name);
}

/** The (L) float32 samples of a corpus item. */
export function readItem(c: Corpus, item: CorpusItem): Float32Array {
  return decodeWav(readFileSync(join(c.dir, item.file)), item.file).waveform.toTypedArray() as Float32Array;
}
