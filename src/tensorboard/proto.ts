// A small protobuf writer for the few messages TensorBoard reads (Event, Summary, TensorProto, the hparams
// plugin's data). Fields are written in ascending number order, as protoc does; wire types: 0 varint,
// 1 fixed64, 2 length-delimited, 5 fixed32. Field numbers are TensorBoard's (see test/tensorboard/proto).

export class ProtoWriter {
  private parts: Uint8Array[] = [];
  private len = 0;

  private push(b: Uint8Array): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }

  private key(field: number, wire: number): this {
    return this.rawVarint(BigInt((field << 3) | wire));
  }

  private rawVarint(v: bigint): this {
    // NOTE: negative int32/int64 are written as 10-byte two's complement, as protobuf requires
    let x = BigInt.asUintN(64, v);
    const out: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      out.push(b);
    } while (x);
    return this.push(Uint8Array.from(out));
  }

  varint(field: number, v: number | bigint | boolean): this {
    return this.key(field, 0).rawVarint(BigInt(typeof v === 'boolean' ? Number(v) : v));
  }

  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    return this.key(field, 1).push(b);
  }

  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.key(field, 5).push(b);
  }

  bytes(field: number, v: Uint8Array): this {
    return this.key(field, 2).rawVarint(BigInt(v.length)).push(v);
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  packedDoubles(field: number, vs: ArrayLike<number>): this {
    const b = new Uint8Array(vs.length * 8);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < vs.length; i++) dv.setFloat64(i * 8, vs[i], true);
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum of TFRecord framing. */
const CRC32C = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant, so CRCs of CRCs stay well mixed. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: uint64 length, masked CRC of the length, data, masked CRC of the data (all little-endian). */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}
