/**
 * A promise-based Admin client (the CLI and tests use it). Failures reject
 * with AdminError: the gRPC code name, the server's message, and for an
 * invalid spec the structured errors.
 */
import { status, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { Credential } from '../../auth/credential.js';
import { CHANNEL_OPTIONS, channelCredentials, expectServer } from '../../auth/grpc.js';
import { AdminClientCtor, SPEC_ERRORS_METADATA, type AdminEvent, type AdminInput, type AdminResponse, type AdminRpcName, type SpecError } from './proto.js';

export class AdminError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly specErrors: SpecError[] = [],
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

function toAdminError(err: ServiceError): AdminError {
  const raw = err.metadata?.get(SPEC_ERRORS_METADATA)[0];
  let specErrors: SpecError[] = [];
  if (typeof raw === 'string') {
    try {
      specErrors = JSON.parse(raw) as SpecError[];
    } catch {
      specErrors = [];
    }
  }
  return new AdminError(status[err.code] ?? String(err.code), err.details || err.message, specErrors);
}

type UnaryName = Exclude<AdminRpcName, 'WatchEvents'>;
type Method = (req: unknown, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;

export class AdminClient {
  private readonly client: Client;

  /** Over mutual TLS with this credential (the operator's or a tenant's);
   * the server must hold the control plane's certificate from the same CA. */
  constructor(
    readonly address: string,
    tls: Credential,
  ) {
    this.client = new AdminClientCtor(address, channelCredentials(tls, expectServer(['controlplane'])), CHANNEL_OPTIONS);
  }

  call<K extends UnaryName>(rpc: K, req: AdminInput<K>, timeoutMs = 120_000): Promise<AdminResponse<K>> {
    const method = (this.client as unknown as Record<string, Method>)[rpc]!.bind(this.client);
    return new Promise((resolve, reject) =>
      method(req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(toAdminError(err)) : resolve(res as AdminResponse<K>))),
    );
  }

  watchEvents(chain = '', tenant = ''): ClientReadableStream<AdminEvent> {
    type Watch = { WatchEvents(req: AdminInput<'WatchEvents'>): ClientReadableStream<AdminEvent> };
    return (this.client as unknown as Watch).WatchEvents({ chain, tenant });
  }

  close(): void {
    this.client.close();
  }
}
