/** A transport by name (the processes' configs name theirs). */
import { grpcTransport } from './grpc-transport.js';
import { httpTransport } from './http-transport.js';
import type { Transport } from './transport.js';

export type TransportName = 'http' | 'grpc';

export function transportOf(name: TransportName): Transport<unknown> {
  return (name === 'grpc' ? grpcTransport : httpTransport) as Transport<unknown>;
}
