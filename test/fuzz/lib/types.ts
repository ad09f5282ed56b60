// The vocabulary of the campaign: what a mutant claims about itself, and what a run reports.

/**
 * What a reference implementation does with a mutant, as far as the mutation alone decides it:
 * - any: nothing is known; only the time, memory and clean-error oracles apply
 * - same: the content is provably unchanged; the load must succeed with the seed's values
 * - sameOrReject: if it loads, it must load the seed's values (a rejection is fine)
 * - reject: the reference refuses the file; nabla must refuse it too
 */
export type Expect = 'any' | 'same' | 'sameOrReject' | 'reject';

export interface Mutant {
  bytes: Uint8Array;
  expect: Expect;
  /** Which mutation made it, e.g. 'zip:crc-flip-stored'. */
  op: string;
}

/** How the worker loads an input. */
export type Loader = 'load' | 'keepHalf' | 'image' | 'audio' | 'addon' | 'fs';

/** One campaign input as the runner and the worker see it. */
export interface Input {
  id: number;
  format: string;
  op: string;
  expect: Expect;
  loader: Loader;
  /** The file to load (for addon cases: unused). */
  path: string;
  /** Digest key of the seed whose content 'same' refers to. */
  seed: string;
  /** For addon cases: the case number. */
  addonCase?: number;
}

export type Outcome = 'ok' | 'error' | 'crash' | 'hang' | 'overmem';

export interface Result {
  id: number;
  outcome: Outcome;
  ms: number;
  /** Peak RSS of the worker process at the end of this input, bytes. */
  rss: number;
  digest?: string;
  errName?: string;
  errMsg?: string;
  /** For a crash: exit code or signal and the tail of stderr. */
  detail?: string;
  /** Set by addon cases: an input buffer was detached while the call read its arguments. */
  detached?: boolean;
}
