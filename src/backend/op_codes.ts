// Op codes shared by every backend. native/include/op_codes.gen.h is generated from this file
// (npm run gen:native; a test fails while it is stale): never renumber.

export enum UnaryOp {
  NEG = 0,
  ABS = 1,
  EXP = 2,
  LOG = 3,
  LOG1P = 4,
  EXPM1 = 5,
  SQRT = 6,
  RSQRT = 7,
  SIN = 8,
  COS = 9,
  TANH = 10,
  SIGMOID = 11,
  RELU = 12,
  GELU = 13,
  GELU_TANH = 14,
  SILU = 15,
  SOFTPLUS = 16,
  SIGN = 17,
  FLOOR = 18,
  CEIL = 19,
  ROUND = 20,
  RECIPROCAL = 21,
  SQUARE = 22,
  LOGICAL_NOT = 23,
  ERF = 24,
  /** p0 = negative slope */
  LEAKY_RELU = 25,
  /** p0 = alpha */
  ELU = 26,
  /** p0 = min (or -Infinity), p1 = max (or +Infinity) */
  CLAMP = 27,
  /** p0 = exponent */
  POW_SCALAR = 28,
  /** softplus with p0 = beta, p1 = threshold */
  SOFTPLUS_BETA = 29,
  ISNAN = 30,
  TRUNC = 31,
  LOG2 = 32,
  TAN = 33,
  ATAN = 34,
  ASIN = 35,
  ACOS = 36,
  SINH = 37,
  COSH = 38,
  /** x * relu6(x + 3) / 6 (torch.nn.functional.hardswish) */
  HARDSWISH = 39,
  /** x * tanh(softplus(x)) (torch.nn.functional.mish) */
  MISH = 40,
}

export enum BinaryOp {
  ADD = 0,
  SUB = 1,
  MUL = 2,
  DIV = 3,
  POW = 4,
  MAXIMUM = 5,
  MINIMUM = 6,
  EQ = 7,
  NE = 8,
  LT = 9,
  LE = 10,
  GT = 11,
  GE = 12,
  LOGICAL_AND = 13,
  LOGICAL_OR = 14,
  LOGICAL_XOR = 15,
  FLOOR_DIVIDE = 16,
  REMAINDER = 17,
  ATAN2 = 18,
  /** a where b > 0, else 0 (and a where b is NaN): the gradient of relu from its output, as torch's threshold_backward
   * */
  THRESHOLD_BACKWARD = 19,
}

export enum ReduceOp {
  SUM = 0,
  PROD = 1,
  MAX = 2,
  MIN = 3,
  /** any element non-zero */
  ANY = 4,
  /** all elements non-zero */
  ALL = 5,
}

export function isComparison(op: BinaryOp): boolean {
  return (
    (op >= BinaryOp.EQ && op <= BinaryOp.GE) ||
    op === BinaryOp.LOGICAL_AND ||
    op === BinaryOp.LOGICAL_OR ||
    op === BinaryOp.LOGICAL_XOR
  );
}
