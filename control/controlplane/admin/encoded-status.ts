/**
 * The Admin service definition with ChainStatus encoded once per status
 * object, not once per call. The status view (chains/status-view.ts) hands
 * every reader the same ChainStatus object until something it is made of
 * changes, so the protobuf bytes of that object can be kept beside it
 * (a WeakMap: they go when the status does). protobufjs' fromObject +
 * encode of a 10-stage status was a quarter of a GetChain's CPU.
 *
 * ListChains answers are a new object per call, but the message is only
 * `repeated ChainStatus chains = 1`, whose encoding is each chain's bytes
 * behind its tag and length: it is put together from the kept bytes.
 * Statuses are never changed after they are served (a change makes a new
 * object), which is what makes keeping their bytes sound.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { ChainStatus, ListChainsResponse } from './proto.js';

type Serialize<T> = (value: T) => Buffer;

/** Field 1, wire type 2 (length-delimited): ListChainsResponse.chains. */
const CHAINS_TAG = (1 << 3) | 2;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function method(service: ServiceDefinition, name: string): MethodDefinition<unknown, unknown> {
  const m = service[name];
  if (!m) throw new Error(`the Admin service has no ${name}: control/proto/ferry/admin/v1/admin.proto and encoded-status.ts disagree`);
  return m;
}

export function withEncodedStatus(service: ServiceDefinition): ServiceDefinition {
  const getChain = method(service, 'GetChain');
  const listChains = method(service, 'ListChains');
  const encodeStatus = getChain.responseSerialize as Serialize<ChainStatus>;
  const kept = new WeakMap<ChainStatus, Buffer>();
  const encoded = (s: ChainStatus): Buffer => {
    let bytes = kept.get(s);
    if (!bytes) kept.set(s, (bytes = encodeStatus(s)));
    return bytes;
  };
  const encodeList: Serialize<ListChainsResponse> = ({ chains }) => {
    const parts: Buffer[] = [];
    for (const s of chains) {
      const bytes = encoded(s);
      parts.push(Buffer.from([CHAINS_TAG, ...varint(bytes.length)]), bytes);
    }
    return Buffer.concat(parts);
  };
  return {
    ...service,
    GetChain: { ...getChain, responseSerialize: encoded as Serialize<unknown> },
    ListChains: { ...listChains, responseSerialize: encodeList as Serialize<unknown> },
  };
}
