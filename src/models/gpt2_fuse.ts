// GPT-2's entry in the fusion pass's table (nn.utils.fuse): the MLP's c_fc (a Conv1D, weight (in, out))
// and its activation become one matmul that applies the activation as it stores each output.

import type { Module } from '../nn/module.js';
import { fuseLinearAct } from '../nn/fusion.js';
import { Conv1D, GPT2MLP } from './gpt2.js';
import { registerFusionRule, type ModuleClass } from '../nn/utils/fuse.js';

/** The class -> rule entries for nn.utils.fuse. */
export const GPT2_FUSION_RULES: [ModuleClass, (m: Module) => Module | null][] = [
  [
    GPT2MLP,
    (m) => {
      const mlp = m as GPT2MLP;
      if (mlp.c_fc?.constructor === Conv1D) fuseLinearAct(mlp, 'c_fc', 'act', 'in_out');
      return null;
    },
  ],
];

for (const [cls, rule] of GPT2_FUSION_RULES) registerFusionRule(cls, rule);
