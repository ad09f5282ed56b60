// Progress bars for the training commands: one Keras-style bar per epoch on stderr, with the ETA, the
// running means of the step values, and the epoch's values at its end.

import { Progbar } from '../keras/progbar.js';

export interface EpochProgress {
  onStep(step: number, steps: number, values: number | Record<string, number>): void;
  onEpochEnd(epoch: number, values: Record<string, number>): void;
}

export function epochProgress(epochs: number, what = ''): EpochProgress {
  let bar: Progbar | null = null,
    epoch = 1,
    sums: Record<string, number> = {};
  return {
    onStep(step, steps, values) {
      const v = typeof values === 'number' ? { loss: values } : values;
      if (!bar) {
        bar = new Progbar({ target: steps, label: `${what}Epoch ${epoch}/${epochs}`, stream: process.stderr });
        sums = {};
      }
      for (const [k, x] of Object.entries(v)) sums[k] = (sums[k] ?? 0) + x;
      bar.update(
        step,
        Object.entries(sums).map(([k, s]) => [k, s / step] as const),
      );
    },
    onEpochEnd(e, values) {
      bar?.update(bar.target!, values, true);
      bar = null;
      epoch = e + 1;
    },
  };
}

/** ../shared/data, or NABLA_SHARED_DATA: where the datasets are looked for by default. */
export function defaultDataRoot(): string {
  return process.env.NABLA_SHARED_DATA ?? '../shared/data';
}
