/** Descriptor frames in TypeScript, at the offsets abi.h defines (read from
 * the addon, so the C header stays the single definition). */
import { native, type StatusName } from './native.js';

const L = native.layout;
const F = L.fields;

export const DESC_SIZE = L.size;
export const STAGE_REPLY = L.stageReply;
export const FLAG_ERROR = L.flagError;
/** A function's own HTTP answer: status is the HTTP status and the payload
 * ends in a trailer (abi.h; control/dataplane/response.ts reads it). */
export const FLAG_RESPONSE = L.flagResponse;
export const MAX_HOPS = L.maxHops;
export const MAX_INSTANCES = L.maxInstances;
export const MAX_REPLICAS = L.maxReplicas;
export const Status = L.status;

export interface Descriptor {
  magic: number;
  version: number;
  flags: number;
  chainId: number;
  stage: number;
  fromStage: number;
  requestId: bigint;
  offset: number;
  length: number;
  generation: number;
  hopCount: number;
  status: number;
  replyTo: number;
}

/** The flags of a request turned into an error reply: FLAG_ERROR, and
 * never FLAG_RESPONSE, so status is an enum ferry_status again. */
export function errorFlags(flags: number): number {
  return (flags & ~FLAG_RESPONSE) | FLAG_ERROR;
}

export function statusName(code: number): StatusName | 'unknown' {
  for (const [name, value] of Object.entries(Status)) if (value === code) return name as StatusName;
  return 'unknown';
}

export function decodeDescriptor(buf: ArrayBuffer, byteOffset = 0): Descriptor {
  const v = new DataView(buf, byteOffset, DESC_SIZE);
  return {
    magic: v.getUint32(F.magic, true),
    version: v.getUint16(F.version, true),
    flags: v.getUint16(F.flags, true),
    chainId: v.getUint32(F.chainId, true),
    stage: v.getUint16(F.stage, true),
    fromStage: v.getUint16(F.fromStage, true),
    requestId: v.getBigUint64(F.requestId, true),
    offset: Number(v.getBigUint64(F.offset, true)),
    length: v.getUint32(F.length, true),
    generation: v.getUint32(F.generation, true),
    hopCount: v.getUint16(F.hopCount, true),
    status: v.getUint16(F.status, true),
    replyTo: v.getUint32(F.replyTo, true),
  };
}

/** A fresh, valid descriptor frame; fields left out default to a new request. */
export function encodeDescriptor(d: Partial<Descriptor>, out = new Uint8Array(DESC_SIZE)): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset, DESC_SIZE);
  v.setUint32(F.magic, d.magic ?? L.magic, true);
  v.setUint16(F.version, d.version ?? L.version, true);
  v.setUint16(F.flags, d.flags ?? 0, true);
  v.setUint32(F.chainId, d.chainId ?? 0, true);
  v.setUint16(F.stage, d.stage ?? 0, true);
  v.setUint16(F.fromStage, d.fromStage ?? 0, true);
  v.setBigUint64(F.requestId, d.requestId ?? 0n, true);
  v.setBigUint64(F.offset, BigInt(d.offset ?? 0), true);
  v.setUint32(F.length, d.length ?? 0, true);
  v.setUint32(F.generation, d.generation ?? 0, true);
  v.setUint16(F.hopCount, d.hopCount ?? 0, true);
  v.setUint16(F.status, d.status ?? 0, true);
  v.setUint32(F.replyTo, d.replyTo ?? 0, true);
  return out;
}

/** Frame i of a receive batch, as a view (valid until the next batch). */
export function frameView(rx: ArrayBuffer, i: number): Uint8Array {
  return new Uint8Array(rx, i * DESC_SIZE, DESC_SIZE);
}
