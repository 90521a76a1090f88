/**
 * A typed, promise-based NodeDaemon client: what the control plane (and
 * tests) use to drive a node's ferryd. Method names mirror the RPCs in
 * camelCase; requests may leave fields out (proto3 defaults them),
 * responses arrive with every field present (see proto.ts).
 */
import { Client, Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { Credential } from '../auth/credential.js';
import { CHANNEL_OPTIONS, channelCredentials, expectServer } from '../auth/grpc.js';
import type { Identity } from '../auth/identity.js';
import { rpcCodec, type InstanceEvent, type NodeStats, type RpcInput, type RpcName, type RpcResponse } from './proto.js';

/** What a method takes: any field may be left out, at any depth (the
 * generated input type). */
export type Req<K extends RpcName> = RpcInput<K>;
type Res<K extends RpcName> = Promise<RpcResponse<K>>;

/** A refused or failed call: the gRPC code, its name, and ferryd's message. */
export class FerrydError extends Error {
  readonly codeName: string;
  constructor(
    readonly rpc: RpcName,
    readonly code: status,
    readonly details: string,
  ) {
    const codeName = status[code] ?? String(code);
    super(`${rpc}: ${codeName}: ${details}`);
    this.name = 'FerrydError';
    this.codeName = codeName;
  }
}

export interface CallOptions {
  /** Give up after this long (DEADLINE_EXCEEDED). Default: no deadline. */
  timeoutMs?: number;
}

export interface FerrydClient {
  readonly address: string;
  /** The node the last TLS handshake proved is at the other end (from its
   * certificate); undefined before the first call connects. */
  readonly server: Identity | undefined;
  getNodeInfo(opts?: CallOptions): Res<'GetNodeInfo'>;
  createPool(req: Req<'CreatePool'>, opts?: CallOptions): Res<'CreatePool'>;
  deleteChain(req: Req<'DeleteChain'>, opts?: CallOptions): Res<'DeleteChain'>;
  startInstance(req: Req<'StartInstance'>, opts?: CallOptions): Res<'StartInstance'>;
  stopInstance(req: Req<'StopInstance'>, opts?: CallOptions): Res<'StopInstance'>;
  listInstances(req?: Req<'ListInstances'>, opts?: CallOptions): Res<'ListInstances'>;
  programChain(req: Req<'ProgramChain'>, opts?: CallOptions): Res<'ProgramChain'>;
  setPeers(req: Req<'SetPeers'>, opts?: CallOptions): Res<'SetPeers'>;
  /** A sample every interval: a Readable in object mode, so both
   * `for await (const s of stream)` and `stream.on('data', ...)` work;
   * `stream.cancel()` ends it. */
  streamStats(req?: Req<'StreamStats'>): ClientReadableStream<NodeStats>;
  /** Instance events as they happen (after replaying those newer than
   * afterSeq); `stream.cancel()` ends it. */
  watchInstanceEvents(req?: Req<'WatchInstanceEvents'>): ClientReadableStream<InstanceEvent>;
  close(): void;
}

class GrpcFerrydClient implements FerrydClient {
  private readonly client: Client;
  server: Identity | undefined;

  constructor(
    readonly address: string,
    tls: Credential,
    node?: string,
  ) {
    // Callers that predate TLS (tests too) get told, not a TypeError.
    if (!tls) throw new Error('connectFerryd needs a credential (in tests: connectFerryd from control/ferryd/testdata/harness.ts)');
    const creds = channelCredentials(tls, expectServer(['node'], node), (id) => (this.server = id));
    this.client = new Client(address, creds, CHANNEL_OPTIONS);
  }

  private unary<K extends Exclude<RpcName, 'StreamStats' | 'WatchInstanceEvents'>>(rpc: K, req: Req<K>, opts: CallOptions = {}): Res<K> {
    const codec = rpcCodec(rpc);
    const callOpts = opts.timeoutMs ? { deadline: Date.now() + opts.timeoutMs } : {};
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(codec.path, codec.serialize, codec.deserialize, req, new Metadata(), callOpts, (err: ServiceError | null, res?: RpcResponse<K>) =>
        err || !res ? reject(new FerrydError(rpc, err?.code ?? status.INTERNAL, err?.details || err?.message || 'empty response')) : resolve(res),
      );
    });
  }

  getNodeInfo(opts?: CallOptions) {
    return this.unary('GetNodeInfo', {}, opts);
  }
  createPool(req: Req<'CreatePool'>, opts?: CallOptions) {
    return this.unary('CreatePool', req, opts);
  }
  deleteChain(req: Req<'DeleteChain'>, opts?: CallOptions) {
    return this.unary('DeleteChain', req, opts);
  }
  startInstance(req: Req<'StartInstance'>, opts?: CallOptions) {
    return this.unary('StartInstance', req, opts);
  }
  stopInstance(req: Req<'StopInstance'>, opts?: CallOptions) {
    return this.unary('StopInstance', req, opts);
  }
  listInstances(req: Req<'ListInstances'> = {}, opts?: CallOptions) {
    return this.unary('ListInstances', req, opts);
  }
  programChain(req: Req<'ProgramChain'>, opts?: CallOptions) {
    return this.unary('ProgramChain', req, opts);
  }
  setPeers(req: Req<'SetPeers'>, opts?: CallOptions) {
    return this.unary('SetPeers', req, opts);
  }

  streamStats(req: Req<'StreamStats'> = {}): ClientReadableStream<NodeStats> {
    const codec = rpcCodec('StreamStats');
    return this.client.makeServerStreamRequest(codec.path, codec.serialize, codec.deserialize, req);
  }

  watchInstanceEvents(req: Req<'WatchInstanceEvents'> = {}): ClientReadableStream<InstanceEvent> {
    const codec = rpcCodec('WatchInstanceEvents');
    return this.client.makeServerStreamRequest(codec.path, codec.serialize, codec.deserialize, req);
  }

  close(): void {
    this.client.close();
  }
}

/**
 * A client for the ferryd at host:port (connects lazily, on first call),
 * over mutual TLS with this credential (the control plane's or the
 * operator's: ferryd refuses any other). The server must hold a node
 * certificate from the same CA, for node `node` when given.
 */
export function connectFerryd(address: string, tls: Credential, node?: string): FerrydClient {
  return new GrpcFerrydClient(address, tls, node);
}
