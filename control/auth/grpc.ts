/**
 * Mutual TLS for ferry's gRPC APIs (Admin, NodeDaemon and its health
 * service): servers demand a client certificate from the cluster CA (the
 * handshake fails without one), clients accept only a server whose
 * certificate names the identity they meant to reach, and handlers learn
 * the caller from the verified peer certificate (grpc-js puts it on every
 * call: call.getAuthContext().sslPeerCertificate).
 */
import {
  ChannelCredentials,
  ServerCredentials,
  status,
  type ChannelOptions,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from '../log.js';
import type { Credential } from './credential.js';
import { describeIdentity, identityOfAltName, type Identity, type IdentityKind } from './identity.js';

/** Servers are reached by any address (an IP, a name, a NAT): they are told
 * apart by the identity in their certificate, not by host name, so the TLS
 * server name is this constant and checkServerIdentity checks the identity. */
export const TLS_SERVER_NAME = 'ferry';
export const CHANNEL_OPTIONS: ChannelOptions = { 'grpc.ssl_target_name_override': TLS_SERVER_NAME };

export function serverCredentials(c: Credential): ServerCredentials {
  return ServerCredentials.createSsl(Buffer.from(c.ca), [{ cert_chain: Buffer.from(c.cert), private_key: Buffer.from(c.key) }], true);
}

/** Why a server certificate is not the party a client meant to reach
 * (undefined: it is). */
export type ServerCheck = (server: Identity | undefined) => string | undefined;

/** A check that the server is of one of these kinds (and, for a node, has this name). */
export function expectServer(kinds: IdentityKind[], name?: string): ServerCheck {
  return (id) => {
    const wanted = `${kinds.join(' or ')}${name ? ` ${name}` : ''}`;
    if (!id) return `the server's certificate names no ferry identity; expected ${wanted}`;
    if (!kinds.includes(id.kind)) return `the server is ${describeIdentity(id)}, not ${wanted}`;
    if (name !== undefined && 'name' in id && id.name !== name) return `the server is ${describeIdentity(id)}, not ${wanted}`;
    return undefined;
  };
}

/** Client credentials: this credential's certificate, trusting only the
 * cluster CA; onServer hears each server identity that was accepted. */
export function channelCredentials(c: Credential, check: ServerCheck, onServer?: (id: Identity) => void): ChannelCredentials {
  return ChannelCredentials.createSsl(Buffer.from(c.ca), Buffer.from(c.key), Buffer.from(c.cert), {
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      const id = identityOfAltName(cert.subjectaltname);
      const why = check(id);
      if (why) return new Error(why);
      onServer?.(id!);
      return undefined;
    },
  });
}

type SurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'getPeer' | 'emit'>;

/** The HTTP/2 session (one TLS connection) a call came on, where grpc-js
 * keeps it: call.call is its intercepting call, whose innermost link
 * (nextCall...) holds the stream. Private fields: when a grpc-js version
 * moves them, this finds nothing and callers are read per call, as before. */
function sessionOf(call: object): object | undefined {
  type Link = { stream?: { session?: object }; nextCall?: Link };
  let link = (call as { call?: Link }).call;
  for (let hops = 0; link && !link.stream && hops < 8; hops++) link = link.nextCall;
  return link?.stream?.session ?? undefined;
}

/** Callers by connection: a TLS connection's peer certificate is fixed for
 * its life (HTTP/2 forbids renegotiation), and getPeerCertificate builds a
 * new object from it on every call (bench:admin: 12% of a GetChain's CPU). */
const callers = new WeakMap<object, Identity | undefined>();

/** The caller's identity, from the certificate it proved it holds. */
export function callerOf(call: Pick<SurfaceCall, 'getAuthContext'>): Identity | undefined {
  const session = sessionOf(call);
  if (session && callers.has(session)) return callers.get(session);
  const caller = identityOfAltName(call.getAuthContext().sslPeerCertificate?.subjectaltname);
  if (session) callers.set(session, caller);
  return caller;
}

/** PERMISSION_DENIED naming the credential that is needed (or
 * UNAUTHENTICATED when the certificate names nobody). */
export function refusal(caller: Identity | undefined, needed: string): Partial<ServiceError> {
  if (!caller) return { code: status.UNAUTHENTICATED, details: `the client certificate names no ferry identity; this API needs ${needed}` };
  return { code: status.PERMISSION_DENIED, details: `${describeIdentity(caller)} may not call this; it needs ${needed}` };
}

/**
 * Every method of a service, refused unless the caller is one of the given
 * kinds. Wrapping the whole implementation means RPCs added later are
 * guarded too.
 */
export function requireCaller(
  service: ServiceDefinition,
  impl: UntypedServiceImplementation,
  kinds: IdentityKind[],
  needed: string,
  log: Logger,
): UntypedServiceImplementation {
  const guarded: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const def = service[name];
    guarded[name] = ((call: SurfaceCall, callback?: (err: Partial<ServiceError>) => void) => {
      const caller = callerOf(call);
      if (caller && kinds.includes(caller.kind)) return (handler as (...a: unknown[]) => void)(call, callback);
      const err = refusal(caller, needed);
      log.warn('call refused', { rpc: name, peer: call.getPeer(), caller: caller && describeIdentity(caller), error: err.details });
      if (def && !def.responseStream && callback) callback(err);
      else call.emit('error', err);
    }) as UntypedHandleCall;
  }
  return guarded;
}
