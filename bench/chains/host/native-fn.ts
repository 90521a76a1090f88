/**
 * A `runtime: native` function's .so, called through the baselines' addon
 * (native/heap_addon.cc over chains/lib/heap_call.c: the ferry C ABI on
 * heap buffers with ferry-runner's semantics).
 */
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../control/paths.js';

export interface NativeResult {
  ok: boolean;
  /** ferry_respond's status (ok) or ferry_fail_status's (failed); 0: none. */
  status: number;
  /** Its content type or error code. */
  tag: string;
  output?: Uint8Array;
  next?: number;
  message?: string;
}

export interface NativeFunction {
  call(input: Uint8Array, requestId: bigint): NativeResult;
}

type NativeFunctionClass = new (so: string, stage: string, next: string[], maxAlloc: number) => NativeFunction;

export const ADDON = join(repoRoot, 'bench/chains/host/native/build/Release/ferry_heap.node');

let loaded: NativeFunctionClass | undefined;

export function openNative(so: string, stage: string, next: string[], maxAlloc: number): NativeFunction {
  if (!loaded) {
    if (!existsSync(ADDON)) throw new Error(`${ADDON} is missing: build it with \`npm run build\``);
    const mod = { exports: {} as { NativeFunction?: NativeFunctionClass } };
    // RTLD_GLOBAL: the function's .so resolves the ABI's symbols in the addon.
    process.dlopen(mod, ADDON, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
    loaded = mod.exports.NativeFunction;
    if (!loaded) throw new Error(`${ADDON} exports no NativeFunction: rebuild it with \`npm run build\``);
  }
  return new loaded(so, stage, next, maxAlloc);
}
