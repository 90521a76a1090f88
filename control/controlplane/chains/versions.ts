/**
 * What an instance of a stage runs, as one digest: everything StartInstance
 * gives it and placement weighs (runtime, handler path, resources, next
 * stages, architectures, data labels) and the handler file's content (not
 * its mtime: touching a file, or checking it out again, changes nothing).
 * Modules the handler imports are not hashed: change the handler file (or
 * the chain) to roll a change in them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ChainIR, StageIR } from '../../chain/ir.js';

export type ReadFile = (path: string) => Buffer;

/** The stage's spec without the file: two stages alike here run the same
 * code exactly when their handler files hold the same bytes. */
export function stageSpec(s: StageIR): string {
  return JSON.stringify({ runtime: s.runtime, handler: s.handler, resources: s.resources, next: s.next, archs: s.archs, data: s.data });
}

export function stageVersion(s: StageIR, read: ReadFile = readFileSync): string {
  let content: Buffer;
  try {
    content = read(s.handler);
  } catch (err) {
    throw new Error(`stage ${s.name}: cannot read its handler ${s.handler} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return createHash('sha256').update(stageSpec(s)).update('\0').update(content).digest('hex').slice(0, 16);
}

/** Every stage's version, by stage id. */
export function stageVersions(ir: ChainIR, read: ReadFile = readFileSync): Map<number, string> {
  return new Map(ir.stages.map((s) => [s.id, stageVersion(s, read)]));
}
