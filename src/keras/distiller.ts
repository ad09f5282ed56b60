// Knowledge distillation, Keras-style, as the Keras example "Knowledge Distillation"
// (keras.io/examples/vision/knowledge_distillation): a Distiller model wraps a student and a trained
// teacher; compile({optimizer, metrics, studentLoss, distillationLoss, alpha, temperature}); fit(x, y)
// trains the student on alpha * studentLoss + (1 - alpha) * T^2 * KL(softmax(teacher / T) ||
// softmax(student / T)). The teacher runs in inference mode and never trains. evaluate and predict
// are the student's; the Distiller's weights (stateDict) are the student's.
// Glossary: N batch, C classes.

import { noGrad } from '../autograd/grad_mode.js';
import { fmtShape } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { OutputLogits } from './activations.js';
import { Model, type CompileArgs } from './model.js';
import { reduceLoss, SparseCategoricalCrossentropy, type LossSpec } from './losses.js';
import { checkOptionNames } from './options.js';
import type { OptimizerIdentifier } from './optimizers.js';

/** teacher and student probabilities (N, C), softened by the temperature -> per-sample loss (N). */
export type DistillationLossFn = (teacherProbs: Tensor, studentProbs: Tensor) => Tensor;

export interface DistillerCompileArgs {
  optimizer: OptimizerIdentifier;
  metrics?: CompileArgs['metrics'];
  /** The hard-label loss of the student (default sparse categorical crossentropy from logits). */
  studentLoss?: LossSpec;
  /** 'kl_divergence' (default, Keras's KLDivergence) or a per-sample function of the soft distributions. */
  distillationLoss?: 'kl_divergence' | DistillationLossFn;
  /** Weight of studentLoss; the distillation term gets 1 - alpha (default 0.1). */
  alpha?: number;
  /** Softening temperature T (default 3). */
  temperature?: number;
}

const OPTIONS: readonly (keyof DistillerCompileArgs)[] = [
  'optimizer',
  'metrics',
  'studentLoss',
  'distillationLoss',
  'alpha',
  'temperature',
];

/** KL(p || q) per sample over the last axis, from probabilities p and log-probabilities logQ: (N, C) -> (N). */
function klPerSample(p: Tensor, logQ: Tensor): Tensor {
  // NOTE: Keras's KLDivergence clips p to [eps, 1]; a zero p contributes 0 here, as xlogy does.
  const logP = p.clamp(1e-7, 1).log();
  return p.mul(logP.sub(logQ)).sum(-1);
}

/** The logits behind an output: its softmax's input when the model kept it, else the output itself. */
function logitsOf(out: Tensor, k: OutputLogits | null | undefined): Tensor {
  return k?.kind === 'softmax' ? k.logits : out;
}

/**
 * A model that trains `student` to match a trained `teacher` (Hinton et al. 2015).
 * @example
 * const d = new nb.keras.Distiller({ student, teacher });
 * d.compile({ optimizer: 'adam', metrics: ['sparse_categorical_accuracy'], alpha: 0.1, temperature: 10 });
 * await d.fit(xTrain, yTrain, { epochs: 3 });
 * await d.evaluate(xTest, yTest);
 */
export class Distiller extends Model<Tensor> {
  override readonly className: string = 'Distiller';
  // NOTE: '_' keeps them out of the module tree: the student's layers are registered as the
  // Distiller's own (initGraph), and the teacher's weights are not the Distiller's and never train.
  /** @internal */ readonly _student: Model;
  /** @internal */ readonly _teacher: Module;
  alpha = 0.1;
  temperature = 3;
  private distillFn: DistillationLossFn | null = null;

  constructor(args: { student: Model; teacher: Module; name?: string }) {
    super(undefined, 'distiller', { name: args?.name });
    if (!(args?.student instanceof Model)) throw new Error('Distiller: student must be a keras Model or Sequential');
    if (!args.teacher || typeof (args.teacher as Module).call !== 'function')
      throw new Error('Distiller: teacher must be a keras Model or an nn.Module');
    this._student = args.student;
    this._teacher = args.teacher;
    if (this._student.inputs.length) this.initGraph(this._student.inputs, this._student.outputs);
  }

  get student(): Model {
    return this._student;
  }
  get teacher(): Module {
    return this._teacher;
  }

  protected override buildFromData(xs: Tensor[]): void {
    this._student.ensureBuiltFor(xs);
    this.initGraph(this._student.inputs, this._student.outputs);
  }

  override compile(args: DistillerCompileArgs): void {
    if (!args || typeof args !== 'object') throw new Error('Distiller.compile: expected {optimizer, ...}');
    checkOptionNames(args, OPTIONS, 'Distiller.compile');
    const alpha = args.alpha ?? 0.1,
      T = args.temperature ?? 3;
    if (!(alpha >= 0 && alpha <= 1)) throw new Error(`Distiller.compile: alpha must be in [0, 1], got ${alpha}`);
    if (!(T > 0 && Number.isFinite(T)))
      throw new Error(`Distiller.compile: temperature must be a positive number, got ${T}`);
    const dl = args.distillationLoss ?? 'kl_divergence';
    if (dl !== 'kl_divergence' && typeof dl !== 'function')
      throw new Error(
        `Distiller.compile: distillationLoss must be 'kl_divergence' or a function (teacherProbs, studentProbs) => ` +
          `(N), got ${JSON.stringify(dl)}`,
      );
    this.alpha = alpha;
    this.temperature = T;
    this.distillFn = typeof dl === 'function' ? dl : null;
    super.compile({
      optimizer: args.optimizer,
      loss: args.studentLoss ?? new SparseCategoricalCrossentropy({ fromLogits: true }),
      metrics: args.metrics,
    });
  }

  /** Teacher logits (N, C) for x, in inference mode and without a graph. */
  private teacherLogits(x: Tensor[]): Tensor {
    const t = this._teacher;
    if (t.training) t.eval();
    return noGrad(() => {
      if (t instanceof Model) {
        const logits: (OutputLogits | null)[] = [];
        const [out] = t.run(x, logits);
        return logitsOf(out, logits[0]);
      }
      return t.call(...(x as [Tensor])) as Tensor;
    });
  }

  override computeLoss(
    x: Tensor[],
    y: Tensor[],
    yPred: Tensor[],
    logits: (OutputLogits | null)[],
    sampleWeight?: Tensor,
  ): Tensor[] {
    const [studentLoss] = super.computeLoss(x, y, yPred, logits, sampleWeight);
    if (!this.training) return [studentLoss];
    const s = logitsOf(yPred[0], logits[0]),
      t = this.teacherLogits(x);
    if (fmtShape(s.shape) !== fmtShape(t.shape))
      throw new Error(
        `Distiller: the teacher's logits ${fmtShape(t.shape)} do not match the student's ${fmtShape(s.shape)}`,
      );
    const T = this.temperature;
    const pT = t.div(T).softmax(-1),
      logS = s.div(T).logSoftmax(-1);
    const perSample = this.distillFn ? this.distillFn(pT, logS.exp()) : klPerSample(pT, logS);
    const distill = reduceLoss(perSample, sampleWeight).mul(T * T);
    return [studentLoss.mul(this.alpha).add(distill.mul(1 - this.alpha))];
  }
}
