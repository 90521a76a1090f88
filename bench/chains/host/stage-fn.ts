/**
 * One stage's function, loaded and run with ferry's semantics over plain
 * buffers: what a baseline's function process (and the in-process
 * reference) calls for each request. The result either goes on to a next
 * stage or is the client's answer (the last stage's output, a function's
 * own answer, or its failure), rendered as ferry's gateway would.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bundleHandler } from '../../../control/node/handler-bundle.js';
import { checkAnswer, createContext, failureOf, httpErrorProblem, toBytes } from '../../../control/runtime/outcome.js';
import { isFerryResponse, isHttpError, type FerryHandler, type HandlerResult } from '../../../control/runtime/sdk.js';
import { answerFlags, render, withTrailer, type HttpAnswer, type StageReply } from './answer.js';
import { openNative } from './native-fn.js';

/** What a function process is told about its stage. */
export interface StageSpec {
  chain: string;
  id: number;
  name: string;
  runtime: 'node' | 'native';
  /** Absolute path of the module or shared object. */
  handler: string;
  /** Names of the stages it may hand on to; empty: it replies. */
  next: string[];
  /** The node handler bundled ahead of time (bundleHandlerTo), as ferryd
   * bundles before it spawns: loaded instead, so the function process
   * never starts esbuild (whose service process would outlive the build). */
  bundle?: string;
}

export type StageResult = { kind: 'next'; index: number; body: Uint8Array } | { kind: 'answer'; answer: HttpAnswer };

export interface StageFn {
  run(payload: Uint8Array, requestId: bigint): Promise<StageResult>;
}

/** The largest output a native function may allocate (native_harness's default). */
const MAX_ALLOC = 16 << 20;
const encoder = new TextEncoder();

export async function loadStage(spec: StageSpec): Promise<StageFn> {
  return spec.runtime === 'native' ? nativeStage(spec) : nodeStage(spec, await importHandler(spec));
}

/** Bundles a node handler into file as ferryd would (node/handler-bundle.ts);
 * false when it cannot be bundled (it is then loaded through tsx). */
export function bundleHandlerTo(handler: string, file: string): boolean {
  const bundle = bundleHandler(handler, () => undefined);
  if (bundle) writeFileSync(file, bundle.code);
  return bundle !== undefined;
}

/** The handler module as ferryd loads it: bundled by esbuild when it can
 * be, else through tsx. */
async function importHandler(spec: StageSpec): Promise<FerryHandler> {
  const file = spec.handler;
  const bundle = spec.bundle === undefined ? bundleHandler(file, () => undefined) : undefined;
  const mod = (
    spec.bundle !== undefined
      ? await import(pathToFileURL(spec.bundle).href)
      : bundle
        ? await import(`data:text/javascript;base64,${Buffer.from(bundle.code).toString('base64')}`)
        : await (await import('tsx/esm/api')).tsImport(pathToFileURL(file).href, import.meta.url)
  ) as { default?: unknown; handler?: unknown };
  const handler = mod.default ?? mod.handler;
  if (typeof handler !== 'function') throw new Error(`${file} must export a handler function (export default function (ctx) {...})`);
  return handler as FerryHandler;
}

function answered(spec: StageSpec, r: Omit<StageReply, 'fromStage'>): StageResult {
  return { kind: 'answer', answer: render({ ...r, fromStage: spec.id }, spec.chain) };
}

/** The output goes on, or (last stage) is the reply. */
function output(spec: StageSpec, body: Uint8Array, index: number): StageResult {
  if (spec.next.length > 0) return { kind: 'next', index, body };
  return answered(spec, { status: 'ok', flags: 0, statusCode: 0, body });
}

function nodeStage(spec: StageSpec, handler: FerryHandler): StageFn {
  const failed = (err: unknown): StageResult => {
    if (isHttpError(err)) {
      const problem = httpErrorProblem(err);
      if (problem) return failed(problem);
      return answered(spec, { status: 'ok', flags: answerFlags(true), statusCode: err.status, body: withTrailer(encoder.encode(String(err.message)), err.code ?? '') });
    }
    const { status, message } = failureOf(err, spec.name);
    return answered(spec, { status, flags: 0, statusCode: 0, body: encoder.encode(message) });
  };
  const deliver = (result: HandlerResult, index: number): StageResult => {
    if (!isFerryResponse(result)) return output(spec, toBytes(result), index);
    checkAnswer(result);
    return answered(spec, { status: 'ok', flags: answerFlags(false), statusCode: result.status, body: withTrailer(toBytes(result.body), result.contentType ?? '') });
  };
  return {
    async run(payload, requestId) {
      let index = 0;
      const ctx = createContext({
        payload,
        requestId,
        stage: spec.name,
        next: spec.next,
        alloc: (size) => new Uint8Array(size),
        room: () => payload,
        choose: (i) => {
          index = i;
        },
      });
      try {
        return deliver(await handler(ctx), index);
      } catch (err) {
        return failed(err);
      }
    },
  };
}

function nativeStage(spec: StageSpec): StageFn {
  const fn = openNative(spec.handler, spec.name, spec.next, MAX_ALLOC);
  return {
    async run(payload, requestId) {
      const r = fn.call(payload, requestId);
      if (!r.ok) {
        const message = encoder.encode(r.message ?? 'function returned an error');
        if (r.status) return answered(spec, { status: 'ok', flags: answerFlags(true), statusCode: r.status, body: withTrailer(message, r.tag) });
        // ferry-runner's reading of a failure (runner/ferry-runner.c).
        const status = r.message?.includes('pool exhausted') ? 'poolExhausted' : 'functionError';
        return answered(spec, { status, flags: 0, statusCode: 0, body: message });
      }
      const body = r.output ?? new Uint8Array(0);
      if (r.status) return answered(spec, { status: 'ok', flags: answerFlags(false), statusCode: r.status, body: withTrailer(body, r.tag) });
      return output(spec, body, r.next ?? 0);
    },
  };
}
