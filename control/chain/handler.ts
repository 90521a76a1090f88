/**
 * Finding a function's handler file, relative to the chain's YAML file.
 * A wrong path is the most common mistake in a new chain, so every failure
 * says what was looked for and, for native functions that have a C source
 * but no built object, how to build it.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { RuntimeKind } from './ir.js';

export type FileExists = (absPath: string) => boolean;

const NODE_EXTS = ['.ts', '.js', '.mjs'];

export type HandlerResult = { ok: true; path: string } | { ok: false; message: string };

export function resolveHandler(
  runtime: RuntimeKind,
  handler: string,
  chainFile: string,
  exists: FileExists = existsSync,
): HandlerResult {
  const abs = resolve(dirname(resolve(chainFile)), handler);
  return runtime === 'node' ? nodeHandler(handler, abs, exists) : nativeHandler(handler, abs, exists);
}

function nodeHandler(handler: string, abs: string, exists: FileExists): HandlerResult {
  const ext = extname(abs);
  if (ext === '') {
    // An extension-less path names the module the way an import would.
    const found = NODE_EXTS.map((e) => abs + e).find(exists);
    if (found) return { ok: true, path: found };
    return { ok: false, message: `handler file not found: "${handler}" (looked for ${NODE_EXTS.map((e) => abs + e).join(', ')})` };
  }
  if (!NODE_EXTS.includes(ext)) {
    return { ok: false, message: `expected a .ts, .js or .mjs module for a node handler, found "${handler}"` };
  }
  if (exists(abs)) return { ok: true, path: abs };
  // TypeScript habit: importing "./x.js" for the source "./x.ts". The runner
  // loads TypeScript directly, so accept the source.
  if (ext === '.js') {
    const ts = abs.slice(0, -ext.length) + '.ts';
    if (exists(ts)) return { ok: true, path: ts };
  }
  return { ok: false, message: `handler file not found: "${handler}" (looked for ${abs})` };
}

function nativeHandler(handler: string, abs: string, exists: FileExists): HandlerResult {
  const ext = extname(abs);
  const base = ext === '' ? abs : abs.slice(0, -ext.length);
  const so = `${base}.so`;
  const c = `${base}.c`;
  const build = 'run `npm run setup` to build it';
  if (ext === '.c') {
    const tail = exists(so) ? '' : `; ${build}`;
    return { ok: false, message: `expected the shared object built from the C source for a native handler: use "${handler.replace(/\.c$/, '.so')}"${tail}` };
  }
  if (ext !== '' && ext !== '.so') {
    return { ok: false, message: `expected a .so shared object for a native handler, found "${handler}"` };
  }
  if (exists(so)) return { ok: true, path: so };
  if (exists(c)) return { ok: false, message: `handler "${handler}" is not built yet (${so} is missing, its source ${c} exists): ${build}` };
  return { ok: false, message: `handler file not found: "${handler}" (looked for ${so}, and no ${c} to build it from)` };
}
