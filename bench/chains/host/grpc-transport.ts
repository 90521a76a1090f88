/**
 * Hops as gRPC unary calls (grpc-js, HTTP/2, one channel per instance):
 * the request message is the payload's bytes as they are and the response
 * the answer in a small binary frame, both serialized as raw Buffers (no
 * JSON, no re-encoding): what a gRPC microservice passing `bytes` pays.
 *
 *   answer frame: [status: u16 BE][n: u8][content type: n bytes][body]
 *   (n = 0: no content type, for a body-less status)
 */
import { Client, credentials, Metadata, Server, ServerCredentials, type ServiceError } from '@grpc/grpc-js';
import { failures, type HttpAnswer } from './answer.js';
import { parseRequestId, REQUEST_ID, roundRobin, type Hop, type Served, type Transport } from './transport.js';

const METHOD = '/ferry.bench.Stage/Call';
const same = (b: Buffer) => b;
/** Room for the largest bodies the suites send (grpc-js's default is 4 MiB). */
const OPTIONS = { 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': 64 << 20 };

export function encodeAnswer(a: HttpAnswer): Buffer {
  const type = Buffer.from(a.contentType ?? '', 'latin1');
  const out = Buffer.allocUnsafe(3 + type.byteLength + a.body.byteLength);
  out.writeUInt16BE(a.status, 0);
  out[2] = type.byteLength;
  type.copy(out, 3);
  out.set(a.body, 3 + type.byteLength);
  return out;
}

export function decodeAnswer(b: Buffer): HttpAnswer {
  const n = b[2]!;
  return { status: b.readUInt16BE(0), contentType: n ? b.toString('latin1', 3, 3 + n) : undefined, body: b.subarray(3 + n) };
}

export const grpcTransport: Transport<Buffer> = {
  name: 'grpc',
  serve(port, handle): Promise<Served> {
    const server = new Server(OPTIONS);
    server.addService(
      { Call: { path: METHOD, requestStream: false, responseStream: false, requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same, originalName: 'call' } },
      {
        Call: (call: { request: Buffer; metadata: Metadata }, cb: (err: Error | null, value?: Buffer) => void) => {
          handle(call.request, parseRequestId(call.metadata.get(REQUEST_ID)[0]) ?? 0n).then((r) => cb(null, r), (err: Error) => cb(err));
        },
      },
    );
    return new Promise((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) => {
        if (err) return reject(err);
        resolve({ close: async () => server.forceShutdown() });
      });
    });
  },
  hop(targets, chain): Hop<Buffer> {
    const clients = targets.map((t) => ({ target: t, client: new Client(t, credentials.createInsecure(), OPTIONS) }));
    const next = roundRobin(clients);
    return {
      call(body, opts) {
        const { target, client } = next();
        return new Promise((resolve) => {
          const metadata = new Metadata();
          metadata.set(REQUEST_ID, String(opts.requestId));
          const call = client.makeUnaryRequest(METHOD, same, same, Buffer.from(body.buffer, body.byteOffset, body.byteLength), metadata, {}, (err: ServiceError | null, value?: Buffer) => {
            opts.signal?.removeEventListener('abort', onAbort);
            if (!err && value) return resolve(value);
            resolve(encodeAnswer(failures.instanceDied(chain, `${target}: ${err?.details ?? 'no answer'}`)));
          });
          const onAbort = () => call.cancel();
          opts.signal?.addEventListener('abort', onAbort, { once: true });
        });
      },
      close: () => clients.forEach((c) => c.client.close()),
    };
  },
  fromAnswer: encodeAnswer,
  toAnswer: decodeAnswer,
};
