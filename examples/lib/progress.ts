// A Keras-style progress bar per epoch (with an ETA) for the training loops of the examples, which
// report each step through onStep(step, steps, values) and each epoch through onEpochEnd(epoch, values).
import * as nb from 'nabla';

export function epochBars(epochs: number, what: string) {
  let bar: nb.keras.Progbar | null = null,
    epoch = 1,
    sums: Record<string, number> = {};
  return {
    onStep(step: number, steps: number, values: number | Record<string, number>) {
      const v = typeof values === 'number' ? { loss: values } : values;
      if (!bar) {
        bar = new nb.keras.Progbar({ target: steps, label: `${what} epoch ${epoch}/${epochs}` });
        sums = {};
      }
      for (const [k, x] of Object.entries(v)) sums[k] = (sums[k] ?? 0) + x;
      bar.update(
        step,
        Object.entries(sums).map(([k, s]) => [k, s / step] as const),
      );
    },
    onEpochEnd(e: number, values: Record<string, number>) {
      bar?.update(bar.target!, values, true);
      bar = null;
      epoch = e + 1;
    },
  };
}
