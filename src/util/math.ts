// Scalar arithmetic every layer may use (src/util imports nothing from the rest of nabla).

/** Round half to even, as torch.round, numpy.round and Python's round() do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
