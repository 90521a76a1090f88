/**
 * The federated-learning wire format (abi.h, "federated learning"): a
 * client's update and every aggregator message is a 64-byte header and
 * then param_count little-endian float32s. The offsets are abi.h's;
 * wire.test.ts checks them against the layout the native addon exports, so
 * the C header stays the one definition while clients need no addon.
 */
export const HEADER_SIZE = 64;
export const DTYPE_FLOAT32 = 1;
export const CLIENT_ID_MAX = 40;
export const CLIENT_ID = /^[A-Za-z0-9._-]{1,40}$/;

export const UPDATE_MAGIC = 0x31554c46; // "FLU1"
export const UPDATE_VERSION = 1;
/** struct ferry_fl_update */
export const UpdateField = { magic: 0, version: 4, dtype: 6, numExamples: 8, paramCount: 12, round: 16, reserved: 20, clientId: 24 } as const;

export const MSG_MAGIC = 0x314d4c46; // "FLM1"
export const MSG_VERSION = 1;
/** enum ferry_fl_op */
export const Op = { update: 1, flush: 2, partial: 3, model: 4, ack: 5 } as const;
export type OpName = keyof typeof Op;
/** struct ferry_fl_msg */
export const MsgField = {
  magic: 0, version: 4, op: 6, round: 8, paramCount: 12, weight: 16, count: 24,
  expectParent: 28, expectTop: 32, baseGeneration: 36, baseOffset: 40, flags: 48,
} as const;

export interface UpdateHeader {
  magic: number;
  version: number;
  dtype: number;
  numExamples: number;
  paramCount: number;
  round: number;
  clientId: string;
}

/** FLUSH flag (abi.h FERRY_FL_FLUSH_DISCARD): the round failed; leaves drop its sum. */
export const FLUSH_DISCARD = 0x1;

export interface Msg {
  op: number;
  round: number;
  paramCount: number;
  weight: number;
  count: number;
  expectParent: number;
  expectTop: number;
  baseOffset: number;
  baseGeneration: number;
  flags?: number;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, HEADER_SIZE);

/** Write a client's update header into the first 64 bytes of `into`. */
export function encodeUpdateHeader(into: Uint8Array, h: Omit<UpdateHeader, 'magic' | 'version' | 'dtype'> & Partial<UpdateHeader>): void {
  if (into.byteLength < HEADER_SIZE) throw new RangeError(`an update header needs ${HEADER_SIZE} bytes, not ${into.byteLength}`);
  into.fill(0, 0, HEADER_SIZE);
  const v = view(into);
  v.setUint32(UpdateField.magic, h.magic ?? UPDATE_MAGIC, true);
  v.setUint16(UpdateField.version, h.version ?? UPDATE_VERSION, true);
  v.setUint16(UpdateField.dtype, h.dtype ?? DTYPE_FLOAT32, true);
  v.setUint32(UpdateField.numExamples, h.numExamples, true);
  v.setUint32(UpdateField.paramCount, h.paramCount, true);
  v.setUint32(UpdateField.round, h.round, true);
  const id = new TextEncoder().encode(h.clientId);
  if (id.byteLength > CLIENT_ID_MAX) throw new RangeError(`client id "${h.clientId}" is longer than ${CLIENT_ID_MAX} bytes`);
  into.set(id, UpdateField.clientId);
}

/** Read a client's update header; checks nothing (the gateway does). */
export function decodeUpdateHeader(from: Uint8Array): UpdateHeader {
  const v = view(from);
  const idBytes = from.subarray(UpdateField.clientId, UpdateField.clientId + CLIENT_ID_MAX);
  const end = idBytes.indexOf(0);
  return {
    magic: v.getUint32(UpdateField.magic, true),
    version: v.getUint16(UpdateField.version, true),
    dtype: v.getUint16(UpdateField.dtype, true),
    numExamples: v.getUint32(UpdateField.numExamples, true),
    paramCount: v.getUint32(UpdateField.paramCount, true),
    round: v.getUint32(UpdateField.round, true),
    clientId: new TextDecoder().decode(end < 0 ? idBytes : idBytes.subarray(0, end)),
  };
}

/** Write an aggregator message header into the first 64 bytes of `into`. */
export function encodeMsg(into: Uint8Array, m: Partial<Msg> & Pick<Msg, 'op' | 'round'>): void {
  into.fill(0, 0, HEADER_SIZE);
  const v = view(into);
  v.setUint32(MsgField.magic, MSG_MAGIC, true);
  v.setUint16(MsgField.version, MSG_VERSION, true);
  v.setUint16(MsgField.op, m.op, true);
  v.setUint32(MsgField.round, m.round, true);
  v.setUint32(MsgField.paramCount, m.paramCount ?? 0, true);
  v.setFloat64(MsgField.weight, m.weight ?? 0, true);
  v.setUint32(MsgField.count, m.count ?? 0, true);
  v.setUint32(MsgField.expectParent, m.expectParent ?? 0, true);
  v.setUint32(MsgField.expectTop, m.expectTop ?? 0, true);
  v.setUint32(MsgField.baseGeneration, m.baseGeneration ?? 0, true);
  v.setBigUint64(MsgField.baseOffset, BigInt(m.baseOffset ?? 0), true);
  v.setUint32(MsgField.flags, m.flags ?? 0, true);
}

/** Read an aggregator message header, or undefined if it is not one. */
export function decodeMsg(from: Uint8Array): Msg | undefined {
  if (from.byteLength < HEADER_SIZE) return undefined;
  const v = view(from);
  if (v.getUint32(MsgField.magic, true) !== MSG_MAGIC || v.getUint16(MsgField.version, true) !== MSG_VERSION) return undefined;
  return {
    op: v.getUint16(MsgField.op, true),
    round: v.getUint32(MsgField.round, true),
    paramCount: v.getUint32(MsgField.paramCount, true),
    weight: v.getFloat64(MsgField.weight, true),
    count: v.getUint32(MsgField.count, true),
    expectParent: v.getUint32(MsgField.expectParent, true),
    expectTop: v.getUint32(MsgField.expectTop, true),
    baseGeneration: v.getUint32(MsgField.baseGeneration, true),
    baseOffset: Number(v.getBigUint64(MsgField.baseOffset, true)),
  };
}

/** A whole update as a client sends it: header + the delta's float32s. */
export function encodeUpdate(h: { numExamples: number; round: number; clientId: string }, delta: Float32Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + delta.byteLength);
  encodeUpdateHeader(out, { ...h, paramCount: delta.length });
  out.set(new Uint8Array(delta.buffer, delta.byteOffset, delta.byteLength), HEADER_SIZE);
  return out;
}
