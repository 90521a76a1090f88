/**
 * Drives a NativeInstance: for each accepted descriptor, runs the handler
 * on a zero-copy view and hands its result on. Separate from the process
 * entry point so tests can drive it in-process.
 */
import { frameView, Status } from '../dataplane/descriptor.js';
import { native, type BufferRef, type NativeInstance } from '../dataplane/native.js';
import { UnknownStageError, type FerryContext, type FerryHandler, type HandlerResult } from './sdk.js';

const F = native.layout.fields;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

interface Call {
  frame: Uint8Array;
  offset: number;
  generation: number;
  nextIndex: number;
  allocs: BufferRef[];
}

export function runInstance(inst: NativeInstance, handler: FerryHandler): void {
  const pool = new Uint8Array(inst.buffer);

  const context = (call: Call, length: number, requestId: bigint): FerryContext => ({
    payload: pool.subarray(call.offset, call.offset + length),
    requestId,
    stage: inst.stageName,
    nextStages: inst.next,
    alloc(size: number) {
      const ref = inst.alloc(size, call.frame);
      call.allocs.push(ref);
      return pool.subarray(ref.offset, ref.offset + size);
    },
    goto(stage: string) {
      const i = inst.next.indexOf(stage);
      if (i < 0) throw new UnknownStageError(stage, inst.next);
      call.nextIndex = i;
    },
    text() {
      return decoder.decode(this.payload);
    },
    json<T>() {
      return JSON.parse(decoder.decode(this.payload)) as T;
    },
  });

  const release = (call: Call, keep?: BufferRef) => {
    for (const a of call.allocs) {
      if (a === keep) continue;
      try {
        inst.free(a.offset, a.generation);
      } catch {
        // Already taken back: the request outlived its deadline and ferryd
        // freed what it held (the pool counts the late free).
      }
    }
  };

  const deliver = (call: Call, result: HandlerResult) => {
    if (result instanceof Uint8Array && result.buffer === inst.buffer) {
      if (result.byteOffset === call.offset) {
        release(call);
        inst.forward(call.frame, result.byteLength, call.nextIndex);
        return;
      }
      const own = call.allocs.find((a) => a.offset === result.byteOffset);
      if (own) {
        release(call, own);
        inst.forwardBuffer(call.frame, own.offset, own.generation, result.byteLength, call.nextIndex);
        return;
      }
    }
    release(call);
    const bytes = toBytes(result);
    const capacity = inst.capacity(call.offset, call.generation);
    if (bytes.byteLength <= capacity) {
      pool.set(bytes, call.offset);
      inst.forward(call.frame, bytes.byteLength, call.nextIndex);
      return;
    }
    const out = inst.alloc(bytes.byteLength, call.frame); // throws EPOOL_EXHAUSTED / ETOO_LARGE
    pool.set(bytes, out.offset);
    inst.forwardBuffer(call.frame, out.offset, out.generation, bytes.byteLength, call.nextIndex);
  };

  const fail = (call: Call, err: unknown) => {
    release(call);
    const code = (err as { code?: string } | null)?.code;
    const status =
      code === 'EPOOL_EXHAUSTED' ? Status.poolExhausted : code === 'ETOO_LARGE' ? Status.tooLarge : Status.functionError;
    const message = err instanceof Error ? err.message : String(err);
    inst.fail(call.frame, status, `${inst.stageName}: ${message}`);
  };

  inst.start((n) => {
    if (n < 0) {
      // ferryd closed our endpoint: we are being stopped.
      inst.close();
      process.exitCode = 0;
      return;
    }
    const view = new DataView(inst.rx);
    for (let i = 0; i < n; i++) {
      const base = i * native.layout.size;
      const call: Call = {
        frame: frameView(inst.rx, i),
        offset: Number(view.getBigUint64(base + F.offset, true)),
        generation: view.getUint32(base + F.generation, true),
        nextIndex: 0,
        allocs: [],
      };
      const length = view.getUint32(base + F.length, true);
      const requestId = view.getBigUint64(base + F.requestId, true);
      let result: HandlerResult | Promise<HandlerResult>;
      try {
        result = handler(context(call, length, requestId));
      } catch (err) {
        fail(call, err);
        continue;
      }
      if (result instanceof Promise) {
        call.frame = call.frame.slice(); // rx is reused by the next batch
        result.then(
          (r) => {
            try {
              deliver(call, r);
            } catch (err) {
              fail(call, err);
            }
          },
          (err: unknown) => fail(call, err),
        );
      } else {
        try {
          deliver(call, result);
        } catch (err) {
          fail(call, err);
        }
      }
    }
  });
}

function toBytes(result: HandlerResult): Uint8Array {
  if (result === null || result === undefined) return new Uint8Array(0);
  if (result instanceof Uint8Array) return result;
  if (typeof result === 'string') return encoder.encode(result);
  return encoder.encode(JSON.stringify(result));
}
