/** Typed view of the native addon (dataplane-native/addon). */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { paths } from '../paths.js';

export interface BufferRef {
  offset: number;
  capacity: number;
  generation: number;
}

export interface PoolClassStats {
  size: number;
  /** Buffers in service (the class's capacity now). */
  count: number;
  inUse: number;
  /** Slots reserved: what the class can grow to. */
  maxCount: number;
  /** Allocations that found the class empty (the signal to grow it). */
  misses: number;
}

export interface PoolStats {
  classes: PoolClassStats[];
  inUse: number;
  allocFailures: number;
  badFrees: number;
  totalSize: number;
}

export interface SizeClass {
  size: number;
  /** Buffers in service at creation. */
  count: number;
  /** Slots reserved to grow into (default: count, a fixed class). */
  maxCount?: number;
}

/** A buffer ferry_pool_expire freed: who held it, for which request. */
export interface ExpiredBuffer {
  owner: number;
  tag: number;
}

export interface NativePool {
  readonly buffer: ArrayBuffer;
  readonly fd: number;
  readonly size: number;
  alloc(size: number, owner: number): BufferRef;
  free(offset: number, generation: number): void;
  check(offset: number, generation: number, length: number): number;
  take(offset: number, generation: number, owner: number): void;
  reclaim(owner: number): number;
  /** Also the request tags (low 32 bits of request ids) of what was freed. */
  reclaimTagged(owner: number): { count: number; tags: number[] };
  stats(): PoolStats;
  /** Slots of class cls put in / taken out of service; returns how many. */
  grow(cls: number, n: number): number;
  shrink(cls: number, n: number): number;
  /** Free every buffer whose deadline is at or before nowMs (native.nowMs()). */
  expire(nowMs: number): { count: number; expired: ExpiredBuffer[] };
  label(offset: number, generation: number, tag: number, deadlineMs: number): void;
  /**
   * Seal (on) or unseal a live buffer: a sealed one (a shared global model)
   * refuses free and take (code ESEALED) and never expires, until unsealed;
   * a reclaim of its dead owner still frees it. Returns on.
   */
  seal(offset: number, generation: number, on: boolean): boolean;
  close(): void;
}

export interface InstanceStats {
  accepted: number;
  forwarded: number;
  repliedError: number;
  sendRefused: number;
  freedUndeliverable: number;
  garbageBytes: number;
  rejects: Record<string, number>;
  pool?: PoolStats;
}

export interface SendRequest {
  stage: number;
  offset: number;
  generation: number;
  length: number;
  requestId: number;
  replyTo?: number;
  /** native.nowMs() after which the buffer may be taken back; 0 = never. */
  deadlineMs?: number;
}

export interface InstanceOptions {
  instanceId: number;
  chainId: number;
  stage: number;
  stageName?: string;
  endpointFd: number;
  poolFd: number;
  /** "name=id,name=id" */
  next?: string;
}

export interface NativeInstance {
  readonly buffer: ArrayBuffer;
  readonly rx: ArrayBuffer;
  readonly id: number;
  readonly chainId: number;
  readonly stage: number;
  readonly stageName: string;
  readonly next: string[];
  start(onBatch: (count: number) => void): void;
  stop(): void;
  forward(frame: Uint8Array, length: number, nextIndex?: number): number;
  forwardBuffer(frame: Uint8Array, offset: number, generation: number, length: number, nextIndex?: number): number;
  fail(frame: Uint8Array, status: number, message: string): number;
  /** With the frame of the request it is for, the buffer inherits that
   * request's tag and deadline. */
  alloc(size: number, forFrame?: Uint8Array): BufferRef;
  capacity(offset: number, generation: number): number;
  free(offset: number, generation: number): void;
  /** Frees the buffer only if this instance still owns it; true if it did. */
  freeIfOwned(offset: number, generation: number): boolean;
  send(req: SendRequest): number;
  sendRaw(bytes: Uint8Array): number;
  stats(): InstanceStats;
  label(offset: number, generation: number, tag: number, deadlineMs: number): void;
  /** Tell ferryd the function is loaded (a no-op without a control channel). */
  ready(): void;
  /** One request finished after us microseconds (reported to ferryd when it asks). */
  recordService(us: number): void;
  close(): void;
}

export interface NativeEndpoint {
  readonly rx: ArrayBuffer;
  readonly fd: number;
  readonly garbageBytes: number;
  start(onBatch: (count: number) => void): void;
  stop(): void;
  send(frame: Uint8Array): number;
  sendRaw(bytes: Uint8Array): number;
  /** Descriptors queued right now, into rx (0: none; -1: closed), without blocking. */
  recvNow(): number;
  close(): void;
}

export type DropReason =
  | 'malformed'
  | 'unknownSender'
  | 'chainMismatch'
  | 'notAllowed'
  | 'noRoute'
  | 'deadPeer'
  | 'hopLimit';

export interface RouterCounters {
  rxMsgs: number;
  rxBytes: number;
  txMsgs: number;
  txBytes: number;
  drops: Record<DropReason, number>;
}

export interface EndpointIdent {
  instanceId: number;
  chainId: number;
  stage: number;
  role: 'instance' | 'gateway';
}

export interface RouteTarget {
  instance: number;
  weight: number;
}

export interface NativeRouter {
  readonly attach: 'link' | 'prog_attach';
  readonly reused: boolean;
  readonly pinDir: string;
  addEndpoint(fd: number, ident: EndpointIdent): void;
  /** fd -1 when ferryd no longer holds the socket: removal by id only. */
  removeEndpoint(fd: number, instanceId: number): void;
  setRoute(chainId: number, stage: number, targets: RouteTarget[]): void;
  deleteRoute(chainId: number, stage: number): void;
  /** A stage's consistent-hash ring (bpf_loader.h ferry_router_set_ring). */
  setRing(chainId: number, stage: number, points: number[], instances: number[]): void;
  deleteRing(chainId: number, stage: number): void;
  allow(chainId: number, fromStage: number, toStage: number, allowed?: boolean): void;
  counters(instanceId: number): RouterCounters;
  close(): void;
}

export type StatusName =
  | 'ok'
  | 'functionError'
  | 'badDescriptor'
  | 'poolExhausted'
  | 'tooLarge'
  | 'instanceDied'
  | 'noRoute';

export interface DescriptorLayout {
  size: number;
  magic: number;
  version: number;
  stageReply: number;
  flagError: number;
  control: {
    size: number;
    ready: number;
    ping: number;
    pong: number;
    statsReq: number;
    stats: number;
    /** Bytes of a struct ferry_ctl_stats. */
    statsSize: number;
    histBuckets: number;
  };
  flagResponse: number;
  responseTagMax: number;
  maxHops: number;
  maxInstances: number;
  maxReplicas: number;
  status: Record<StatusName, number>;
  fields: Record<
    | 'magic'
    | 'version'
    | 'flags'
    | 'chainId'
    | 'stage'
    | 'fromStage'
    | 'requestId'
    | 'offset'
    | 'length'
    | 'generation'
    | 'hopCount'
    | 'status'
    | 'replyTo',
    number
  >;
  /** abi.h "federated learning": the update and aggregator message headers. */
  fl: FlLayout;
}

/** abi.h's FL records as the compiler lays them out (offsetof). */
export interface FlLayout {
  headerSize: number;
  dtypeFloat32: number;
  clientIdMax: number;
  updateMagic: number;
  updateVersion: number;
  msgMagic: number;
  msgVersion: number;
  /** FLUSH flag: the round failed, the leaf drops its sum. */
  flushDiscard: number;
  op: Record<'update' | 'flush' | 'partial' | 'model' | 'ack', number>;
  update: {
    size: number;
    fields: Record<'magic' | 'version' | 'dtype' | 'numExamples' | 'paramCount' | 'round' | 'reserved' | 'clientId', number>;
  };
  msg: {
    size: number;
    fields: Record<
      | 'magic'
      | 'version'
      | 'op'
      | 'round'
      | 'paramCount'
      | 'weight'
      | 'count'
      | 'expectParent'
      | 'expectTop'
      | 'baseGeneration'
      | 'baseOffset'
      | 'flags'
      | 'reserved',
      number
    >;
  };
}

export interface NativeAddon {
  Pool: new (opts: { name: string; classes: SizeClass[] } | { fd: number }) => NativePool;
  Instance: new (opts?: InstanceOptions) => NativeInstance;
  Endpoint: new (fd: number) => NativeEndpoint;
  Router: new (opts: { object: string; pinDir: string; forceReload?: boolean }) => NativeRouter & {};
  layout: DescriptorLayout;
  endpointPair(): [number, number];
  /** [instanceFd, ferrydFd]: a unix stream pair for an instance's control channel. */
  controlPair(): [number, number];
  dupFd(fd: number): number;
  /** The clock pool deadlines are on: CLOCK_MONOTONIC ms mod 2^32, never 0. */
  nowMs(): number;
  closeFd(fd: number): void;
  /**
   * acc[i] += weight * update[i] in float32: the native aggregator's own
   * kernel (dataplane-native/aggregator/fold.c), so TypeScript aggregators
   * do ferry's arithmetic. Same length, not overlapping, else it throws.
   */
  flFold(acc: Float32Array, update: Float32Array, weight: number): void;
  /** No NaN and no infinity in values (the aggregator's check). */
  flAllFinite(values: Float32Array): boolean;
}

export interface RouterStatic {
  unpin(pinDir: string): void;
  /** abi.h: FERRY_KEY_SHIFT, FERRY_KEY_BITS (a request's key in its id), FERRY_RING_MAX. */
  readonly keyShift: number;
  readonly keyBits: number;
  readonly ringMax: number;
}

function load(): NativeAddon {
  if (!existsSync(paths.addon)) {
    throw new Error(`ferry native addon not built (${paths.addon}): run \`npm run setup\``);
  }
  return createRequire(import.meta.url)(paths.addon) as NativeAddon;
}

export const native: NativeAddon = load();
export const RouterClass = native.Router as unknown as RouterStatic;

/** Error codes the addon sets on thrown errors. */
export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
