// `nabla transcribe FILE.wav...`, `nabla kws FILE.wav...` and `nabla speech-corpus`: the speech models
// of nb.audio.speech from the command line. Models come from --model DIR or the folder the examples
// save to (<cache>/speech/models/{asr,kws}).

import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as speech from '../audio/speech/index.js';
import { save } from '../audio/wav.js';
import { fromTypedArray } from '../tensor/creation.js';

export const SPEECH_USAGE = `usage:
  nabla transcribe FILE.wav... [--model DIR] [--json]   spoken digits -> text ('4 2 7')
  nabla kws FILE.wav... [--model DIR] [--json]          which keyword (yes, no, up, down, ...) is spoken
  nabla speak "4 2 7" --out FILE.wav [--model DIR] [--speaker N]
                                                        synthesise digits (text-to-mel + Griffin-Lim)
  nabla speech-corpus --kind keywords|digits [--per-voice N] [--out DIR]
                                                        build the espeak-ng corpus (needs espeak-ng, sox)
  DIR defaults to ${speech.defaultModelDir('asr')} (transcribe), ${speech.defaultModelDir('kws')} (kws) or
  ${speech.defaultModelDir('tts')} (speak), where examples/speech-recognition.ts, keyword-spotting.ts
  and speech-synthesis.ts save their models.
  A file at another sample rate is resampled to 16 kHz, and the output says so.`;

function modelDir(v: string | undefined, name: 'asr' | 'kws' | 'tts', cmd: string): string {
  const dir = v ?? speech.defaultModelDir(name);
  if (!existsSync(join(dir, 'config.json'))) {
    const ex = { asr: 'speech-recognition', kws: 'keyword-spotting', tts: 'speech-synthesis' }[name];
    throw new Error(
      `${cmd}: no model in ${dir}; train one (npm run build && node dist/examples/${ex}.js) or pass --model DIR`,
    );
  }
  return dir;
}

export async function speechCommand(cmd: string, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      json: { type: 'boolean', default: false },
      kind: { type: 'string' },
      'per-voice': { type: 'string', default: '2' },
      out: { type: 'string' },
      speaker: { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(SPEECH_USAGE);
    return 0;
  }
  if (cmd === 'speech-corpus') {
    const kind = values.kind;
    const perVoice = Number(values['per-voice']);
    if ((kind !== 'keywords' && kind !== 'digits') || !Number.isInteger(perVoice) || perVoice < 1) {
      console.error(SPEECH_USAGE);
      return 2;
    }
    const dir = values.out ?? speech.defaultCorpusDir(`${kind}-${perVoice}`);
    const c = speech.buildCorpus(dir, { kind, perVoice }, (m) => console.error(m));
    const test = c.items.filter((i) => i.split === 'test').length;
    console.log(`${c.items.length} utterances (${test} from held-out voices) in ${c.dir}`);
    return 0;
  }
  if (positionals.length === 0) {
    console.error(SPEECH_USAGE);
    return 2;
  }
  if (cmd === 'speak') {
    if (!values.out) {
      console.error(`speak: --out FILE.wav is required\n${SPEECH_USAGE}`);
      return 2;
    }
    const syn = await speech.loadSynthesizer(modelDir(values.model, 'tts', cmd));
    const wave = speech.melToWave(speech.textToMel(syn.model, positionals.join(' '), Number(values.speaker)));
    save(values.out, fromTypedArray(wave, [1, wave.length]), speech.SAMPLE_RATE);
    console.log(`${values.out}: ${(wave.length / speech.SAMPLE_RATE).toFixed(2)} s at ${speech.SAMPLE_RATE} Hz`);
    return 0;
  }
  const rows: Record<string, unknown>[] = [];
  if (cmd === 'transcribe') {
    const model = await speech.loadSpeechRecognizer(modelDir(values.model, 'asr', cmd));
    for (const file of positionals) {
      const r = speech.transcribeFile(model, file);
      rows.push({ file, text: r.text, ...(r.resampledFrom ? { resampledFrom: r.resampledFrom } : {}) });
    }
  } else {
    const m = await speech.loadKeywordSpotter(modelDir(values.model, 'kws', cmd));
    for (const file of positionals) rows.push({ file, ...speech.spotKeyword(m, file) });
  }
  if (values.json) console.log(JSON.stringify(rows));
  else
    for (const r of rows) {
      const note = r.resampledFrom ? ` (resampled from ${r.resampledFrom} Hz to 16000 Hz)` : '';
      const what = cmd === 'transcribe' ? r.text : `${r.label} (${((r.prob as number) * 100).toFixed(1)}%)`;
      console.log(`${r.file}: ${what}${note}`);
    }
  return 0;
}
