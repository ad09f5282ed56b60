// Llama's entry in the fusion pass's table (nn.utils.fuse): the MLP's gate_proj and its SiLU become one
// matmul that applies the activation as it stores each output.

import type { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { fuseLinearAct } from '../nn/fusion.js';
import { LlamaMLP } from './llama.js';
import { registerFusionRule, type ModuleClass } from '../nn/utils/fuse.js';

/** The class -> rule entries for nn.utils.fuse. */
export const LLAMA_FUSION_RULES: [ModuleClass, (m: Module) => Module | null][] = [
  [
    LlamaMLP,
    (m) => {
      const mlp = m as LlamaMLP;
      if (mlp.gate_proj?.constructor === Linear) fuseLinearAct(mlp, 'gate_proj', 'act_fn', 'out_in');
      return null;
    },
  ],
];

for (const [cls, rule] of LLAMA_FUSION_RULES) registerFusionRule(cls, rule);
