// Bytes in memory as the loaders take them (a checkpoint, a tokenizer file, an image): an ArrayBuffer
// or any view of one, read through a Uint8Array view without a copy.

/** An ArrayBuffer or any view of one (Uint8Array, Float32Array, DataView, a Node Buffer). */
export type Bytes = ArrayBuffer | ArrayBufferView;

/** A view of bytes as a Uint8Array (no copy), or undefined when `x` is not bytes. */
export function asBytes(x: unknown): Uint8Array | undefined {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer)) {
    return new Uint8Array(x);
  }
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  return undefined;
}
