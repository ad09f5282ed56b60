// Beam search: exhaustive search on a tiny Llama (with beams enough for every path, beam search is
// exact), Hugging Face's lengthPenalty / earlyStopping rules on a hand-written table, the KV cache
// reordering against recomputation, the no-repeat-n-gram processor, and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { golden } from '../helpers/data.js';
import { manualSeed } from '../../src/tensor/random.js';
import { tensor } from '../../src/tensor/creation.js';
import { noGrad } from '../../src/autograd/grad_mode.js';
import { GPT2LMHeadModel } from '../../src/models/gpt2.js';
import { LlamaConfig, LlamaForCausalLM } from '../../src/models/llama.js';
import { banRepeatedNgrams, beamSearch, type StepDecoder } from '../../src/models/beam_search.js';

function tinyLlama(V: number): LlamaForCausalLM {
  manualSeed(3);
  return new LlamaForCausalLM(
    new LlamaConfig({
      vocabSize: V,
      hiddenSize: 16,
      intermediateSize: 24,
      numHiddenLayers: 1,
      numAttentionHeads: 2,
      numKeyValueHeads: 1,
      maxPositionEmbeddings: 32,
      eosTokenId: 0,
    }),
  ).eval();
}

/** Log-probabilities of the next token after `seq` by a full forward. */
function nextLogprobs(model: LlamaForCausalLM, seq: number[]): number[] {
  return noGrad(() => {
    const logits = model.forward(tensor([seq], { dtype: 'int32' }), { logitsToKeep: 1 }).reshape([-1]);
    return Array.from(logits.logSoftmax(0).toTypedArray() as Float32Array);
  });
}

/** Every continuation of up to maxNew tokens (ending at eos or at maxNew), scored as Hugging Face does. */
function bruteForce(model: LlamaForCausalLM, prompt: number[], maxNew: number, lp: number) {
  const out: { tokens: number[]; score: number }[] = [];
  const walk = (seq: number[], sum: number) => {
    const gen = seq.length - prompt.length;
    if (gen === maxNew || (gen > 0 && seq[seq.length - 1] === 0)) {
      out.push({ tokens: seq, score: sum / gen ** lp });
      return;
    }
    for (const [v, l] of nextLogprobs(model, seq).entries()) walk([...seq, v], sum + l);
  };
  walk(prompt, 0);
  return out.sort((a, b) => b.score - a.score);
}

test('beam search with a beam for every path equals exhaustive search (tiny Llama, several lengthPenalty)', () => {
  const V = 5,
    maxNew = 3,
    prompt = [1, 2];
  const model = tinyLlama(V);
  for (const lp of [1, 0, 2.5]) {
    const want = bruteForce(model, prompt, maxNew, lp).slice(0, 4);
    const got = model.generate(prompt, {
      numBeams: V ** maxNew,
      numReturnSequences: 4,
      maxNewTokens: maxNew,
      lengthPenalty: lp,
      earlyStopping: 'never',
    });
    assert.deepEqual(
      got,
      want.map((w) => w.tokens),
      `lengthPenalty ${lp}`,
    );
  }
});

/** A decoder whose next-token probabilities depend on the generated text (tokens 0 eos, 1 'a', 2 'b'). */
function tableDecoder(table: Record<string, number[]>, prompt: number[], K: number) {
  let rows: number[][] = Array.from({ length: K }, () => prompt.slice());
  const calls = { n: 0 };
  const dec: StepDecoder = {
    vocabSize: 3,
    step(tokens) {
      calls.n++;
      if (tokens) rows = rows.map((r, i) => [...r, tokens[i]]);
      const out = new Float32Array(K * 3);
      rows.forEach((r, i) => {
        const key = r
          .slice(prompt.length)
          .map((t) => ' ab'[t])
          .join('');
        const p = table[key] ?? [1 / 3, 1 / 3, 1 / 3];
        for (let v = 0; v < 3; v++) out[i * 3 + v] = Math.log(p[v]);
      });
      return out;
    },
    reorder(idx) {
      rows = Array.from(idx, (i) => rows[i].slice());
    },
  };
  return { dec, calls };
}

const TABLE: Record<string, number[]> = {
  '': [0.5, 0.3, 0.2],
  a: [0.9, 0.05, 0.05],
  b: [0.1, 0.8, 0.1],
  ba: [0.6, 0.2, 0.2],
  bb: [0.5, 0.25, 0.25],
};

test("lengthPenalty and earlyStopping follow Hugging Face's BeamSearchScorer (worked by hand)", () => {
  // Step 1: 'eos' finishes (-0.693, length 1); beams a (-1.204), b (-1.609).
  // Step 2: 'a eos' finishes (-1.309, length 2); 'b eos' ranks 3rd (>= numBeams) and is skipped; beams ba, bb.
  //   lengthPenalty 1: scores -0.693 and -0.654. earlyStopping true: 2 hypotheses, done (2 decoder calls).
  //   false: done when worst (-0.693) >= best / length = -1.309 / 2: no.
  // Step 3: 'ba eos' (-2.344 / 3 = -0.781) does not beat the worst. false: -0.693 >= -2.344 / 3: done (3 calls).
  //   'never': the bound uses maxNewTokens: -0.693 >= -2.344 / 4 is false, so it runs to the end (4 calls).
  const run = (lengthPenalty: number, earlyStopping: boolean | 'never') => {
    const { dec, calls } = tableDecoder(TABLE, [9], 2);
    const hyps = beamSearch(dec, [[9]], {
      numBeams: 2,
      numReturnSequences: 2,
      maxNewTokens: 4,
      lengthPenalty,
      earlyStopping,
      eos: new Set([0]),
      pad: 0,
    })[0];
    return { hyps, calls: calls.n };
  };
  for (const [es, calls] of [
    [true, 2],
    [false, 3],
    ['never', 4],
  ] as const) {
    const r = run(1, es);
    assert.equal(r.calls, calls, `earlyStopping ${es}`);
    assert.deepEqual(
      r.hyps.map((h) => h.tokens),
      [
        [9, 1, 0],
        [9, 0],
      ],
    );
    assert.ok(Math.abs(r.hyps[0].score - (Math.log(0.3) + Math.log(0.9)) / 2) < 1e-6);
    assert.ok(Math.abs(r.hyps[1].score - Math.log(0.5)) < 1e-6);
  }
  // lengthPenalty 0 scores raw sums: 'eos' (-0.693) beats 'a eos' (-1.309); 2 favours the longer one more.
  assert.deepEqual(
    run(0, true).hyps.map((h) => h.tokens),
    [
      [9, 0],
      [9, 1, 0],
    ],
  );
  const two = run(2, true).hyps[0];
  assert.deepEqual(two.tokens, [9, 1, 0]);
  assert.ok(Math.abs(two.score - (Math.log(0.3) + Math.log(0.9)) / 4) < 1e-6);
});

test('beam search with the KV cache equals beam search recomputing every step (GPT-2 tiny)', async () => {
  const model = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  model.eval();
  const prompt = [3, 14, 15];
  const opts = { numBeams: 3, numReturnSequences: 3, maxNewTokens: 6, eosTokenId: 7, noRepeatNgramSize: 2 };
  const cached = model.generate(prompt, opts);
  let rows: number[][] = [];
  const dec: StepDecoder = {
    vocabSize: model.vocabSize,
    step(tokens) {
      rows = tokens ? rows.map((r, i) => [...r, tokens[i]]) : [prompt, prompt, prompt].map((p) => p.slice());
      return noGrad(() => {
        const l = model.forward(tensor(rows, { dtype: 'int32' }));
        return l
          .narrow(1, l.shape[1] - 1, 1)
          .reshape([3, -1])
          .toTypedArray() as Float32Array;
      });
    },
    reorder(idx) {
      rows = Array.from(idx, (i) => rows[i].slice());
    },
  };
  const full = beamSearch(dec, [prompt], { ...opts, maxNewTokens: 6, eos: new Set([7]), pad: 7 })[0];
  assert.deepEqual(
    cached,
    full.map((h) => h.tokens),
  );
  assert.equal(new Set(cached.map((s) => s.join())).size, 3, 'the three beams differ');
  for (const s of cached) {
    const bigrams = s.slice(1).map((t, i) => `${s[i]},${t}`);
    assert.equal(new Set(bigrams).size, bigrams.length, `no repeated bigram in ${s}`);
  }
  // several prompts: each searched on its own
  const both = model.generate([prompt, [5, 6]], { ...opts, numReturnSequences: 1 });
  assert.deepEqual(both[0], cached[0]);
  assert.deepEqual(both[1], model.generate([5, 6], { ...opts, numReturnSequences: 1 })[0]);
});

test('noRepeatNgramSize bans the tokens that would repeat an n-gram (greedy too)', () => {
  const s = new Float64Array([0, 0, 0, 0]);
  banRepeatedNgrams(s, [1, 2, 3, 1, 2], 3);
  assert.deepEqual(Array.from(s), [0, 0, 0, -Infinity]);
  const t = new Float64Array(4);
  banRepeatedNgrams(t, [1, 2], 3);
  assert.deepEqual(Array.from(t), [0, 0, 0, 0]);
  const model = tinyLlama(5);
  const out = model.generate([1, 2, 3], { maxNewTokens: 12, eosTokenId: null, noRepeatNgramSize: 2 })[0];
  const bigrams = out.slice(1).map((t, i) => `${out[i]},${t}`);
  assert.equal(new Set(bigrams).size, bigrams.length);
});

test('beam search errors name the option', () => {
  const model = tinyLlama(5);
  assert.throws(
    () => model.generate([1], { numBeams: 2, numReturnSequences: 3 }),
    /numReturnSequences \(3\) must be <= numBeams \(2\)/,
  );
  assert.throws(() => model.generate([1], { numBeams: 0 }), /numBeams must be an integer >= 1/);
  assert.throws(() => model.generate([1], { numBeams: 2, doSample: true }), /beam sampling/);
  assert.throws(() => model.generate([1], { numBeams: 2, earlyStopping: 'sometimes' as never }), /earlyStopping/);
});
