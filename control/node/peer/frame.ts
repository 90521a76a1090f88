/**
 * The ferryd-to-ferryd wire format: a fixed 40-byte little-endian header and
 * the payload right after it, on one persistent TCP stream per node pair.
 *
 *   0 magic u32 "FRYP"   4 version u16   6 type u8   7 reserved u8 (0)
 *   8 chainId u32       12 stage u16    14 fromStage u16
 *  16 requestId u64     24 replyTo u32  28 status u16  30 flags u16
 *  32 hopCount u16      34 reserved u16 (0)           36 length u32
 *
 * The descriptor fields carry over as the data plane set them (fromStage
 * as the sending node's router stamped it, hopCount so the loop guard spans
 * nodes); offset and generation do not: the payload travels instead and
 * lands in a buffer of the receiving node's own pool.
 *
 * A header that breaks any rule below is a FrameError: the stream cannot be
 * trusted to be in step any more, so the connection is closed.
 */
export const FRAME_MAGIC = 0x50595246; // "FRYP" read as little-endian u32
export const FRAME_VERSION = 1;
export const HEADER_SIZE = 40;
/** The stage id meaning "answer the caller" (FERRY_STAGE_REPLY). */
export const REPLY_STAGE = 0xffff;
/** Default cap on a payload: the largest pool buffer class is 4 MiB by
 * default; a peer announcing more is broken or hostile. */
export const DEFAULT_MAX_PAYLOAD = 64 << 20;
/** A hello carries two node names (and what the sender speaks) as JSON. */
const MAX_HELLO_PAYLOAD = 1024;
/** A load report is a small JSON object (load-report.ts). */
export const MAX_LOAD_PAYLOAD = 64 << 10;
/** What a ferryd that sends load reports says in its hello; only peers
 * that said it get them (an older ferryd would close the link on a frame
 * type it does not know). */
export const FEATURE_LOAD = 'load-v1';
/** A job control message (claim, grant, drained, ...) is small JSON. */
export const MAX_JOB_CONTROL_PAYLOAD = 64 << 10;
/** A model frame is at most the pool's largest buffer class (2 GiB); the
 * lander holds it to the exact size of the job's model. */
export const MAX_JOB_MODEL_PAYLOAD = 2 ** 31;

export enum FrameType {
  /** First frame each way: who is calling whom (payload: JSON HelloBody). */
  Hello = 1,
  /** A request for a stage on the receiving node. */
  Request = 2,
  /** A reply (maybe an error) for the gateway replyTo on the receiving node. */
  Reply = 3,
  /** The sender's load and the stages it serves (payload: JSON, see
   * load-report.ts), every balance tick, to peers whose hello listed
   * FEATURE_LOAD. chainId 0: it is about the node. */
  Load = 4,
  /** An aggregation job's coordinators talking (control/ferryd/jobs/
   * federation.ts; payload: JSON, at most MAX_JOB_CONTROL_PAYLOAD).
   * chainId: the job's chain. */
  JobControl = 5,
  /** A job's sealed model shipped from its home to a follower (payload:
   * the MODEL message, 64-byte header + float32s, landed in a buffer of the
   * follower's pool; requestId: the round it opens). Capped by the job's
   * model size on the receiving side, not by maxPayload: a model may be far
   * larger than any request. */
  JobModel = 6,
}

export interface FrameHeader {
  type: FrameType;
  chainId: number;
  stage: number;
  fromStage: number;
  requestId: bigint;
  replyTo: number;
  status: number;
  flags: number;
  hopCount: number;
  length: number;
}

export interface Frame {
  header: FrameHeader;
  payload: Buffer;
}

export interface HelloBody {
  from: string;
  to: string;
  /** What the sender speaks beyond version 1 (e.g. FEATURE_LOAD). */
  features?: string[];
}

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** The 40-byte header of a frame whose payload is `length` bytes (sent
 * ahead of a view of the payload where it lies: no copy). */
export function encodeHeader(h: Omit<FrameHeader, 'length'>, length: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE);
  out.writeUInt32LE(FRAME_MAGIC, 0);
  out.writeUInt16LE(FRAME_VERSION, 4);
  out.writeUInt8(h.type, 6);
  out.writeUInt8(0, 7);
  out.writeUInt32LE(h.chainId, 8);
  out.writeUInt16LE(h.stage, 12);
  out.writeUInt16LE(h.fromStage, 14);
  out.writeBigUInt64LE(h.requestId, 16);
  out.writeUInt32LE(h.replyTo, 24);
  out.writeUInt16LE(h.status, 28);
  out.writeUInt16LE(h.flags, 30);
  out.writeUInt16LE(h.hopCount, 32);
  out.writeUInt16LE(0, 34);
  out.writeUInt32LE(length, 36);
  return out;
}

/** Header plus payload in one buffer (one write, and a copy of the payload,
 * so the caller may free its source at once): for small frames the link
 * makes itself (hello, load reports, error replies). */
export function encodeFrame(h: Omit<FrameHeader, 'length'>, payload: Uint8Array = new Uint8Array(0)): Buffer {
  return Buffer.concat([encodeHeader(h, payload.byteLength), payload]);
}

export function helloFrame(body: HelloBody): Buffer {
  return encodeFrame(
    { type: FrameType.Hello, chainId: 0, stage: 0, fromStage: 0, requestId: 0n, replyTo: 0, status: 0, flags: 0, hopCount: 0 },
    Buffer.from(JSON.stringify(body)),
  );
}

/** Reads and checks a header; throws FrameError naming the first broken rule. */
export function decodeHeader(b: Buffer, maxPayload = DEFAULT_MAX_PAYLOAD): FrameHeader {
  if (b.length < HEADER_SIZE) throw new FrameError(`short header: ${b.length} of ${HEADER_SIZE} bytes`);
  const magic = b.readUInt32LE(0);
  if (magic !== FRAME_MAGIC) throw new FrameError(`bad magic 0x${magic.toString(16).padStart(8, '0')} (expected 0x${FRAME_MAGIC.toString(16)})`);
  const version = b.readUInt16LE(4);
  if (version !== FRAME_VERSION) throw new FrameError(`unsupported frame version ${version} (this ferryd speaks ${FRAME_VERSION})`);
  const type = b.readUInt8(6);
  if (b.readUInt8(7) !== 0 || b.readUInt16LE(34) !== 0) throw new FrameError('reserved header bytes are not zero');
  const h: FrameHeader = {
    type,
    chainId: b.readUInt32LE(8),
    stage: b.readUInt16LE(12),
    fromStage: b.readUInt16LE(14),
    requestId: b.readBigUInt64LE(16),
    replyTo: b.readUInt32LE(24),
    status: b.readUInt16LE(28),
    flags: b.readUInt16LE(30),
    hopCount: b.readUInt16LE(32),
    length: b.readUInt32LE(36),
  };
  switch (type) {
    case FrameType.Hello:
      if (h.length > MAX_HELLO_PAYLOAD) throw new FrameError(`hello of ${h.length} bytes (at most ${MAX_HELLO_PAYLOAD})`);
      return h;
    case FrameType.Load:
      if (h.chainId !== 0) throw new FrameError(`load report for chain ${h.chainId} (load reports are about the node: chain 0)`);
      if (h.length > MAX_LOAD_PAYLOAD) throw new FrameError(`load report of ${h.length} bytes (at most ${MAX_LOAD_PAYLOAD})`);
      return h;
    case FrameType.JobControl:
      if (h.chainId === 0) throw new FrameError('job control frame for chain 0');
      if (h.length > MAX_JOB_CONTROL_PAYLOAD) throw new FrameError(`job control frame of ${h.length} bytes (at most ${MAX_JOB_CONTROL_PAYLOAD})`);
      return h;
    case FrameType.JobModel:
      if (h.chainId === 0) throw new FrameError('job model frame for chain 0');
      if (h.length > MAX_JOB_MODEL_PAYLOAD) throw new FrameError(`job model frame of ${h.length} bytes (at most ${MAX_JOB_MODEL_PAYLOAD})`);
      return h;
    case FrameType.Request:
      if (h.stage === REPLY_STAGE) throw new FrameError('request frame for the reply stage (replies are type 3)');
      break;
    case FrameType.Reply:
      if (h.stage !== REPLY_STAGE) throw new FrameError(`reply frame for stage ${h.stage} (replies go to stage ${REPLY_STAGE})`);
      if (h.replyTo === 0) throw new FrameError('reply frame without a gateway (reply_to 0)');
      break;
    default:
      throw new FrameError(`unknown frame type ${type}`);
  }
  if (h.chainId === 0) throw new FrameError('chain id 0');
  if (h.length > maxPayload) throw new FrameError(`payload of ${h.length} bytes is over the limit of ${maxPayload}`);
  return h;
}

export function decodeHello(payload: Buffer): HelloBody {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new FrameError('hello payload is not JSON');
  }
  const o = v as Partial<HelloBody> | null;
  if (typeof o?.from !== 'string' || typeof o.to !== 'string' || !o.from || !o.to)
    throw new FrameError('hello payload must be {"from": name, "to": name}');
  const f = o.features;
  if (f === undefined) return { from: o.from, to: o.to };
  if (!Array.isArray(f) || f.length > 16 || !f.every((x) => typeof x === 'string' && x.length <= 64))
    throw new FrameError('hello "features" must be a list of at most 16 short names');
  return { from: o.from, to: o.to, features: f as string[] };
}
