// Knowledge distillation, PyTorch-style: one training step of a student against a frozen teacher,
// for a hand-written loop (the Keras front door has keras.Distiller). The loss is
// F.distillationLoss: alpha * CE(student, y) + (1 - alpha) * T^2 * KL(teacher_T || student_T).
// Glossary: N batch, C classes.

import { noGrad } from '../../autograd/grad_mode.js';
import type { Tensor } from '../../tensor/tensor.js';
import { distillationLoss, type DistillationOptions } from '../functional/losses.js';
import type { Module } from '../module.js';

/** What a step needs of an optimiser (nb.optim's all qualify). */
export interface StepOptimizer {
  zeroGrad(): void;
  step(): void;
}

/**
 * One distillation step: the teacher runs in eval mode without a graph, the student in train mode;
 * the loss is backpropagated through the student only and the optimiser steps. x (N, ...), y (N) int32.
 * Returns the loss value.
 * @example
 * for (const [x, y] of loader) nb.nn.utils.distillStep(student, teacher, opt, x, y, { temperature: 4 });
 */
export function distillStep(
  student: Module,
  teacher: Module,
  optimizer: StepOptimizer,
  x: Tensor,
  y: Tensor,
  opts: DistillationOptions = {},
): number {
  if (teacher.training) teacher.eval();
  if (!student.training) student.train();
  // (N, C) each
  const t = noGrad(() => teacher.call(x) as Tensor);
  optimizer.zeroGrad();
  const loss = distillationLoss(student.call(x) as Tensor, t, y, opts);
  loss.backward();
  optimizer.step();
  return loss.item();
}
