// Output sizes of sliding-window ops (convolution, pooling), PyTorch's formulas; shared by ops (shape
// checks), the JS backend and the native backend, so all three agree. src/util imports nothing.
// n input size, k kernel size, s stride, pad padding on each side, dil dilation.

/** Conv output size: floor((n + 2 pad - dil (k - 1) - 1) / s) + 1. */
export function convOutSize(n: number, k: number, s: number, pad: number, dil: number): number {
  return Math.floor((n + 2 * pad - dil * (k - 1) - 1) / s) + 1;
}

/** Pool output size; with ceil the last window must still start inside the input or the left padding. */
export function poolOutSize(n: number, k: number, s: number, pad: number, dil: number, ceil: boolean): number {
  const num = n + 2 * pad - dil * (k - 1) - 1;
  let o = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
  if (ceil && (o - 1) * s >= n + pad) o--;
  return o;
}

/** The output size (OH, OW) of a window win = [kh, kw, sh, sw, ph, pw, dh, dw] over an H x W input (floor mode). */
export function windowOut(H: number, W: number, win: readonly number[]): [number, number] {
  const [kh, kw, sh, sw, ph, pw, dh, dw] = win;
  return [convOutSize(H, kh, sh, ph, dh), convOutSize(W, kw, sw, pw, dw)];
}
