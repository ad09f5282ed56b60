// einsum (torch.einsum semantics): labels a-z/A-Z, one '...' per term for broadcast dims, an explicit
// '->' output or the implicit one ('...' dims, then the labels seen once, in ASCII order). Composed of
// mul/sum (repeated labels), permute/reshape/expand and bmm (pairwise contractions), so autograd gives
// the gradients. Size-1 dims broadcast against any size, as torch does.

import { eye } from '../tensor/creation.js';
import { isFloating } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/layout.js';
import { Tensor } from '../tensor/tensor.js';
import { matmul } from './matmul.js';

/** A labelled operand: tensor dims in label order (labels are unique after diagonals are taken). */
interface Term {
  t: Tensor;
  labels: number[];
}

const ELL_BASE = 1000; // ellipsis dims get labels ELL_BASE + k, below no letter in the output order

function labelOf(ch: string, where: string): number {
  if (!/^[a-zA-Z]$/.test(ch))
    throw new Error(`einsum(): invalid subscript '${ch}' in ${where}, subscripts must be in [a-zA-Z]`);
  return ch.charCodeAt(0);
}

/** Splits one term into its letters and the position of '...' (-1 when absent). */
function parseTerm(term: string, what: string): { letters: string[]; ell: number } {
  const first = term.indexOf('...');
  if (first >= 0 && term.indexOf('...', first + 1) >= 0) {
    throw new Error(`einsum(): found more than one ellipsis ('...') in ${what} '${term}'`);
  }
  const rest = first >= 0 ? term.slice(0, first) + term.slice(first + 3) : term;
  if (rest.includes('.')) throw new Error(`einsum(): found '.' for ${what} '${term}' that is not part of any ellipsis`);
  return { letters: [...rest], ell: first >= 0 ? [...term.slice(0, first)].length : -1 };
}

/** Sums x over dims p < q that carry the same label, keeping the diagonal (x[.., i, .., i, ..]). */
function diagonal(x: Tensor, p: number, q: number): Tensor {
  const n = x.shape[p];
  const shape = x.shape.map((_, i) => (i === p || i === q ? n : 1));
  return x.mul(eye(n, n, { dtype: x.dtype }).reshape(shape)).sum(q);
}

/**
 * torch.einsum(equation, *operands).
 *   nb.einsum('ij,jk->ik', a, b)   // matmul
 *   nb.einsum('...ii->...i', x)    // batched diagonal
 *   nb.einsum('bij,bjk', [a, b])   // operands may also come as one array
 */
export function einsum(equation: string, ...operandsIn: (Tensor | readonly Tensor[])[]): Tensor {
  if (typeof equation !== 'string') throw new Error(`einsum(): the equation must be a string, got ${typeof equation}`);
  const operands: Tensor[] =
    operandsIn.length === 1 && Array.isArray(operandsIn[0])
      ? [...(operandsIn[0] as readonly Tensor[])]
      : (operandsIn as Tensor[]);
  operands.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`einsum(): operand ${i} is not a Tensor (got ${typeof t})`);
  });
  if (operands.length === 0) throw new Error('einsum(): must provide at least one operand');
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const terms = lhs.split(',');
  if (terms.length > operands.length)
    throw new Error('einsum(): fewer operands were provided than specified in the equation');
  if (terms.length < operands.length)
    throw new Error('einsum(): more operands were provided than specified in the equation');
  const dtype = operands[0].dtype;
  for (const t of operands) {
    if (t.dtype !== dtype) {
      throw new Error(
        `einsum(): expected all operands to have the same dtype, got ${operands.map((o) => o.dtype).join(', ')}`,
      );
    }
  }

  // Label every dim; ellipsis dims are right-aligned across operands, as broadcasting is.
  const parsed = terms.map((term, i) => parseTerm(term, `operand ${i} subscripts`));
  let ellDims = 0;
  parsed.forEach((p, i) => {
    const t = operands[i];
    if (p.ell < 0 && p.letters.length !== t.ndim) {
      throw new Error(
        `einsum(): the number of subscripts in the equation (${p.letters.length}) does not match the number of ` +
          `dimensions (${t.ndim}) for operand ${i} and no ellipsis was given`,
      );
    }
    if (p.ell >= 0 && p.letters.length > t.ndim) {
      throw new Error(
        `einsum(): the number of subscripts in the equation (${p.letters.length}) is more than the number of ` +
          `dimensions (${t.ndim}) for operand ${i}`,
      );
    }
    if (p.ell >= 0) ellDims = Math.max(ellDims, t.ndim - p.letters.length);
  });
  const sizes = new Map<number, number>();
  const counts = new Map<number, number>();
  let usedEll = false;
  let ops: Term[] = parsed.map((p, i) => {
    const t = operands[i];
    const n = p.ell >= 0 ? t.ndim - p.letters.length : 0;
    const codes = p.letters.map((c) => labelOf(c, `the subscripts of operand ${i}`));
    const labels =
      p.ell < 0
        ? codes
        : [
            ...codes.slice(0, p.ell),
            ...Array.from({ length: n }, (_, k) => ELL_BASE + ellDims - n + k),
            ...codes.slice(p.ell),
          ];
    if (p.ell >= 0) usedEll = true;
    labels.forEach((l, d) => {
      const first = labels.indexOf(l);
      if (first !== d && t.shape[first] !== t.shape[d]) {
        throw new Error(
          `einsum(): subscript ${String.fromCharCode(l)} is repeated for operand ${i} (shape ${fmtShape(t.shape)}) ` +
            `but the sizes don't match, ${t.shape[d]} != ${t.shape[first]}`,
        );
      }
    });
    labels.forEach((l, d) => {
      const s = t.shape[d],
        prev = sizes.get(l);
      if (prev !== undefined && prev !== s && prev !== 1 && s !== 1) {
        const name = l >= ELL_BASE ? `ellipsis dim ${l - ELL_BASE}` : `subscript ${String.fromCharCode(l)}`;
        throw new Error(
          `einsum(): ${name} has size ${s} for operand ${i} which does not broadcast with previously seen ` +
            `size ${prev} (operand shapes ${operands.map((o) => fmtShape(o.shape)).join(', ')})`,
        );
      }
      if (prev === undefined || prev === 1) sizes.set(l, s);
    });
    for (const l of new Set(labels)) counts.set(l, (counts.get(l) ?? 0) + 1);
    for (const l of labels) if (labels.indexOf(l) !== labels.lastIndexOf(l)) counts.set(l, (counts.get(l) ?? 0) + 1);
    return { t, labels };
  });

  // The output labels.
  let out: number[];
  const ellLabels = Array.from({ length: ellDims }, (_, k) => ELL_BASE + k);
  if (arrow >= 0) {
    const p = parseTerm(eq.slice(arrow + 2), 'the output subscripts');
    const codes = p.letters.map((c) => labelOf(c, 'the output subscripts'));
    for (const [k, l] of codes.entries()) {
      if (codes.indexOf(l) !== k)
        throw new Error(`einsum(): output subscript ${String.fromCharCode(l)} appears more than once in the output`);
      if (!sizes.has(l)) {
        throw new Error(
          `einsum(): output subscript ${String.fromCharCode(l)} does not appear in the equation for any input operand`,
        );
      }
    }
    out = p.ell < 0 ? codes : [...codes.slice(0, p.ell), ...ellLabels, ...codes.slice(p.ell)];
  } else {
    const once = [...counts.entries()]
      .filter(([l, c]) => c === 1 && l < ELL_BASE)
      .map(([l]) => l)
      .sort((a, b) => a - b);
    out = [...(usedEll ? ellLabels : []), ...once];
  }

  // Repeated labels within one operand (sizes checked above): keep the diagonal.
  ops = ops.map(({ t, labels }) => {
    const ls = [...labels];
    for (let p = 0; p < ls.length; p++) {
      for (let q = ls.length - 1; q > p; q--) {
        if (ls[q] !== ls[p]) continue;
        t = diagonal(t, p, q);
        ls.splice(q, 1);
      }
    }
    return { t, labels: ls };
  });

  // Contract left to right; a label is summed out as soon as no later operand and not the output needs it.
  let acc = ops[0];
  for (let i = 1; i < ops.length; i++) {
    const later = new Set<number>([...out, ...ops.slice(i + 1).flatMap((o) => o.labels)]);
    acc = contract(sumUnneeded(acc, ops[i].labels, later), sumUnneeded(ops[i], acc.labels, later), later, sizes);
  }
  acc = sumUnneeded(acc, [], new Set(out));
  const order = out.map((l) => acc.labels.indexOf(l));
  const r = acc.t.permute(order);
  // NOTE: a size-1 dim kept in the output broadcasts to the size another operand gave it.
  return r.expand(out.map((l) => sizes.get(l)!));
}

/** Sums out the labels of a that neither `other` nor `later` use. */
function sumUnneeded(a: Term, other: number[], later: Set<number>): Term {
  const drop = a.labels.map((l, d) => (!later.has(l) && !other.includes(l) ? d : -1)).filter((d) => d >= 0);
  if (drop.length === 0) return a;
  return { t: a.t.sum(drop), labels: a.labels.filter((_, d) => !drop.includes(d)) };
}

/** a (batch, aOnly, contr) x b (batch, contr, bOnly) -> (batch, aOnly, bOnly) with one bmm. */
function contract(a: Term, b: Term, later: Set<number>, sizes: Map<number, number>): Term {
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const batch = shared.filter((l) => later.has(l));
  const contr = shared.filter((l) => !later.has(l));
  const aOnly = a.labels.filter((l) => !shared.includes(l));
  const bOnly = b.labels.filter((l) => !shared.includes(l));
  const size = (ls: number[]) => ls.reduce((p, l) => p * sizes.get(l)!, 1);
  const arrange = (x: Term, ls: number[]) => {
    const t = x.t.permute(ls.map((l) => x.labels.indexOf(l)));
    return t.expand(ls.map((l) => sizes.get(l)!));
  };
  const am = arrange(a, [...batch, ...aOnly, ...contr]).reshape([size(batch), size(aOnly), size(contr)]);
  const bm = arrange(b, [...batch, ...contr, ...bOnly]).reshape([size(batch), size(contr), size(bOnly)]);
  // NOTE: matmul is floating point only; int32 / bool operands contract by a broadcast multiply and sum.
  const prod = isFloating(am.dtype) ? matmul(am, bm) : am.unsqueeze(-1).mul(bm.unsqueeze(-3)).sum(-2);
  const r = prod.reshape([...batch, ...aOnly, ...bOnly].map((l) => sizes.get(l)!));
  return { t: r, labels: [...batch, ...aOnly, ...bOnly] };
}
