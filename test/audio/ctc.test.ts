// ctcLoss against F.ctc_loss of torch 1.13 (tools/golden/audio.py -> test/golden/audio/ctc.*): values
// and log_probs gradients for every reduction, padded and concatenated targets, another blank, repeated
// labels, empty targets and impossible alignments with zeroInfinity; a float64 gradcheck through
// log_softmax; greedy and prefix beam search decoding.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as audio from '../../src/audio/index.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import { Generator } from '../../src/tensor/random.js';
import { tensor } from '../../src/tensor/creation.js';
import { assertClose } from '../helpers/assert.js';
import { readSafetensors } from '../helpers/golden.js';
import { golden } from '../helpers/data.js';

interface CtcCase {
  name: string;
  inputLengths: number[];
  targetLengths: number[];
  blank: number;
  reduction: audio.CtcReduction;
  zeroInfinity: boolean;
}
const T = readSafetensors(golden('audio/ctc.safetensors'));
const spec = JSON.parse(readFileSync(golden('audio/ctc.json'), 'utf8')) as { cases: CtcCase[] };

describe('ctcLoss: F.ctc_loss parity (tools/golden/audio.py)', () => {
  for (const c of spec.cases) {
    it(`${c.name}: value and log_probs gradient`, () => {
      const lp = T[`${c.name}.lp`].clone().requiresGrad_();
      const loss = audio.ctcLoss(lp, T[`${c.name}.targets`], c.inputLengths, c.targetLengths, {
        blank: c.blank,
        reduction: c.reduction,
        zeroInfinity: c.zeroInfinity,
      });
      assertClose(loss, T[`${c.name}.loss`], { rtol: 1e-10, atol: 1e-12 }, `${c.name} loss`);
      loss.mul(T[`${c.name}.w`]).sum().backward();
      assertClose(lp.grad!, T[`${c.name}.grad`], { rtol: 1e-9, atol: 1e-12 }, `${c.name} gradient`);
    });
  }
  it('an impossible alignment without zeroInfinity is an infinite loss', () => {
    const lp = new Generator(1).normal([3, 1, 4], 0, 1, 'float64').logSoftmax(2);
    assert.equal(audio.ctcLoss(lp, tensor([[1, 1, 1]]), [3], [3], { reduction: 'sum' }).item(), Infinity);
  });
  it('gradcheck in float64 through log_softmax (the gradient PyTorch defines)', () => {
    const x = new Generator(2).normal([7, 2, 5], 0, 1, 'float64').requiresGrad_();
    const f = (z: typeof x) =>
      audio.ctcLoss(
        z.logSoftmax(2),
        tensor([
          [1, 2, 2],
          [3, 4, 0],
        ]),
        [7, 6],
        [3, 2],
      );
    assert.ok(gradcheck(f, [x], { atol: 1e-6, rtol: 1e-4 }));
  });
  it('CTCLoss module and clear errors', () => {
    const lp = new Generator(3).normal([5, 1, 3], 0, 1, 'float32').logSoftmax(2);
    const m = new audio.CTCLoss(0, 'sum');
    assertClose(m.call(lp, [1, 2], [5], [2]), audio.ctcLoss(lp, [1, 2], [5], [2], { reduction: 'sum' }));
    assert.throws(() => audio.ctcLoss(lp, [1, 0], [5], [2]), /ctcLoss: targets contain the blank label 0/);
    assert.throws(() => audio.ctcLoss(lp, [1, 7], [5], [2]), /target label 7 is out of range for 3 classes/);
    assert.throws(() => audio.ctcLoss(lp, [1, 2], [6], [2]), /input_lengths\[0\] = 6 exceeds the 5 frames/);
    assert.throws(
      () => audio.ctcLoss(lp, [1, 2], [5], [3]),
      /concatenated targets have 2 labels but target_lengths sum to 3/,
    );
    assert.throws(() => audio.ctcLoss(lp, [1], [5], [1], { blank: 3 }), /blank must be in label range \[0, 3\)/);
  });
});

describe('CTC decoding', () => {
  // frames: a a _ b b _ b -> "a b b" (labels 1, 2, 2)
  const path = [1, 1, 0, 2, 2, 0, 2];
  const lp = tensor(path.map((k) => [0, 1, 2].map((c) => (c === k ? Math.log(0.8) : Math.log(0.1)))));
  it('greedy merges repeats and drops blanks; length limits the frames', () => {
    assert.deepEqual(audio.ctcGreedyDecode(lp), [1, 2, 2]);
    assert.deepEqual(audio.ctcGreedyDecode(lp, { length: 4 }), [1, 2]);
  });
  it('prefix beam search finds the most probable labelling, summing over its alignments', () => {
    // P(label "1") over two frames: greedy path "_ _" (0.36) but "1" has 1_ + _1 + 11 = 0.48 in all.
    const two = tensor([
      [Math.log(0.6), Math.log(0.4)],
      [Math.log(0.6), Math.log(0.4)],
    ]);
    assert.deepEqual(audio.ctcGreedyDecode(two), []);
    const [best] = audio.ctcBeamSearch(two, { beamWidth: 4 });
    assert.deepEqual(best.tokens, [1]);
    assertClose(best.score, Math.log(0.4 * 0.6 * 2 + 0.4 * 0.4), { atol: 1e-6 });
    const top = audio.ctcBeamSearch(lp, { beamWidth: 8, nBest: 2 });
    assert.deepEqual(top[0].tokens, [1, 2, 2]);
    assert.ok(top[0].score >= top[1].score);
    // the beam's score of a labelling is the CTC likelihood: -ctcLoss
    const nll = audio.ctcLoss(two.unsqueeze(1), [1], [2], [1], { reduction: 'sum' }).item() as number;
    assertClose(best.score, -nll, { atol: 1e-6 });
  });
});
