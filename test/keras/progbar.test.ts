// The Keras progress bar: one stable line per epoch off a TTY (snapshots with a fake clock), the
// redrawn bar with ETA on a TTY, verbose 0 silent, and fit's output through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';
import { tinyClassifier } from './nets.js';
import { formatEta, formatPerStep, formatValue } from '../../src/keras/progbar.js';

const { Progbar } = nb.keras;

test('formatters: values as Keras prints them, ETA and time per step', () => {
  assert.equal(formatValue(0.43121), '0.4312');
  assert.equal(formatValue(0), '0.0000');
  assert.equal(formatValue(0.00012345), '1.2345e-4');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatEta(3.4), '3s');
  assert.equal(formatEta(65), '1:05');
  assert.equal(formatEta(3723), '1:02:03');
  assert.equal(formatPerStep(0.021), '21ms/step');
  assert.equal(formatPerStep(2), '2s/step');
  assert.equal(formatPerStep(0.00035), '350us/step');
});

test('non-TTY: nothing during the epoch, then one stable line (snapshot)', () => {
  const out = new nb.Capture(false);
  const bar = new Progbar({ target: 47, stream: out, clock: nb.fakeClock(0.5), label: 'Epoch 3/20' });
  for (let i = 1; i <= 47; i++) bar.update(i, { loss: 1 / i, accuracy: i / 50 });
  assert.equal(out.text, '');
  bar.update(47, { loss: 0.211, accuracy: 0.9431, val_loss: 0.25331, val_accuracy: 0.932 }, true);
  assert.equal(
    out.text,
    'Epoch 3/20 - 47/47 - 24s - loss: 0.2110 - accuracy: 0.9431 - val_loss: 0.2533 - val_accuracy: 0.9320\n',
  );
  bar.update(47, { loss: 0 }, true);
  assert.equal(String(out.text).split('\n').length, 2, 'a finished bar writes nothing more');
});

test('TTY: redrawn with \\r, step counter, arrow, ETA and running values; finalised with time per step', () => {
  const out = new nb.Capture(true);
  const bar = new Progbar({ target: 47, stream: out, clock: nb.fakeClock(1), interval: 0 });
  bar.update(12, [
    ['loss', 0.43121],
    ['accuracy', 0.875],
  ]); // 1 s for 12 steps: 35 more take 3 s
  assert.equal(out.text, '\r12/47 [======>.......................] - ETA: 3s - loss: 0.4312 - accuracy: 0.8750');
  out.text = '';
  bar.update(
    47,
    [
      ['loss', 0.2],
      ['accuracy', 0.9],
    ],
    true,
  );
  assert.equal(
    String(out.text),
    '\r47/47 [==============================] - 2s 43ms/step - loss: 0.2000 - accuracy: 0.9000\n',
  );
});

test('TTY: redraws are throttled to the interval, and a shorter line blanks the old one', () => {
  const out = new nb.Capture(true);
  const bar = new Progbar({ target: 100, stream: out, clock: nb.fakeClock(0.01), interval: 0.05 });
  for (let i = 1; i <= 20; i++) bar.update(i, { loss: 1 });
  const draws = out.text.split('\r').length - 1;
  assert.ok(draws >= 3 && draws <= 5, `${draws} redraws for 20 updates 0.01 s apart`);
  const out2 = new nb.Capture(true);
  const b2 = new Progbar({ target: 5, stream: out2, clock: nb.fakeClock(0.1), interval: 0 });
  b2.update(1, { loss: 123.456, accuracy: 0.5 });
  b2.update(2, { loss: 1 });
  const [, first, second] = out2.text.split('\r');
  assert.ok(second.length >= first.length);
});

test('verbose 0 writes nothing; unknown target shows a counter', () => {
  const out = new nb.Capture(true);
  new Progbar({ target: 5, stream: out, verbose: 0 }).update(5, { loss: 1 }, true);
  assert.equal(out.text, '');
  const bar = new Progbar({ stream: out, clock: nb.fakeClock(1), interval: 0 });
  bar.update(7, { loss: 0.5 });
  assert.equal(out.text, '\r7/Unknown - 1s - loss: 0.5000');
});

test('fit in a non-TTY prints exactly one readable line per epoch (fake clock)', async () => {
  nb.manualSeed(1);
  const model = tinyClassifier();
  const out = new nb.Capture(false);
  const x = nb.randn([40, 4]),
    y = nb.randint(0, 3, [40]);
  await model.fit(x, y, { epochs: 3, batchSize: 16, validationSplit: 0.25, stream: out, clock: nb.fakeClock(0.5) });
  const lines = out.text.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 3);
  lines.forEach((l, e) => {
    assert.match(
      l,
      new RegExp(
        `^Epoch ${e + 1}/3 - 2/2 - \\d+s - loss: \\d\\.\\d{4} - accuracy: \\d\\.\\d{4} - val_loss: \\d\\.\\d{4} - ` +
          `val_accuracy: \\d\\.\\d{4}$`,
      ),
    );
  });
  // the same run again gives the same text: stable for logs and diffs
  nb.manualSeed(1);
  const m2 = tinyClassifier();
  const out2 = new nb.Capture(false);
  await m2.fit(nb.randn([40, 4]), nb.randint(0, 3, [40]), {
    epochs: 3,
    batchSize: 16,
    validationSplit: 0.25,
    stream: out2,
    clock: nb.fakeClock(0.5),
  });
  assert.equal(out2.text, out.text);
});

test('fit on a TTY prints the epoch header, then the bar', async () => {
  nb.manualSeed(2);
  const model = nb.keras.sequential([nb.keras.layers.dense({ units: 2, inputShape: [3] })]);
  model.compile({ optimizer: 'sgd', loss: 'mse' });
  const out = new nb.Capture(true);
  await model.fit(nb.randn([10, 3]), nb.randn([10, 2]), {
    epochs: 1,
    batchSize: 5,
    stream: out,
    clock: nb.fakeClock(0.1),
  });
  assert.match(out.text, /^Epoch 1\/1\n(\r[^\r]*)+\r2\/2 \[=+\] - \d+s \d+ms\/step - loss: \d\.\d{4}\n$/);
});
