/**
 * A Node handler bundled by ferryd as its instance is spawned: the handler
 * and the local modules it imports, TypeScript stripped, as one ES module
 * the runner reads from a pipe. The instance then starts on plain node with
 * the compiled runner, instead of registering a TypeScript loader and
 * transpiling the runner, the SDK and the handler in every new process,
 * which was most of a Node cold start (tsx alone: ~150-250 ms of ~400 ms on
 * a 2-core machine). ferryd bundles in ~8 ms (esbuild, kept warm in the
 * daemon while it bundles; its service process is stopped after
 * ESBUILD_REST_MS without a bundle, so an idle ferryd does not keep it
 * running, and the next bundle starts it again: ~40 ms once).
 *
 * It is not bundled (undefined: the runner loads the file through tsx, as
 * before, and reports its own errors) when bundling would change what the
 * handler sees or may read:
 *  - it does not build (the runtime's own error is the one people should see);
 *  - it imports a package: a bare specifier only resolves beside the file;
 *  - it uses import.meta, require or __dirname: its location would be a data: URL;
 *  - it pulls in a file that is not a JS/TS module (esbuild would inline a
 *    .json or .txt), or one the instance's tenant could not read itself:
 *    ferryd reads as root, and must not read for a tenant what the sandbox
 *    would refuse it.
 * The SDK stays one module: imports of it go to the runner's own copy.
 */
import { buildSync, stop as stopEsbuild } from 'esbuild';
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { paths, repoRoot } from '../paths.js';

export interface BundledHandler {
  /** The ES module, every import either node: or the runner's SDK. */
  code: string;
  /** Absolute paths of the files it was made of. */
  inputs: string[];
}

/** Whether the compiled runner (dist/) is there to run a bundle. */
export const canBundle = (): boolean => existsSync(paths.nodeRunnerJs) && existsSync(paths.sdkJs);

const MODULE = /\.(?:[cm]?[jt]s|tsx|jsx)$/;
const SDK_SOURCES = new Set([join(repoRoot, 'control/runtime/sdk.ts'), join(repoRoot, 'control/runtime/sdk.js'), paths.sdkJs]);
/** What an import of the SDK looks like (each one found is checked to be it). */
const SDK_IMPORTS = ['*runtime/sdk.js', '*runtime/sdk.ts', '*runtime/sdk'];
const isBuiltin = (p: string) => p.startsWith('node:') || builtinModules.includes(p.split('/')[0]!);

/** How long esbuild's service outlives the last bundle: instances start in
 * bursts (applies, scale-ups), and a burst keeps it warm. */
const ESBUILD_REST_MS = 30_000;
let resting: NodeJS.Timeout | undefined;

/** Stop esbuild's service once no bundle came for ESBUILD_REST_MS
 * (buildSync runs to completion, so none is under way when this fires). */
function restLater(): void {
  clearTimeout(resting);
  resting = setTimeout(() => void stopEsbuild(), ESBUILD_REST_MS);
  resting.unref();
}

/**
 * The handler as one module, or undefined when it must be loaded as a file
 * (see above). readable: whether the tenant may read these files (the
 * sandbox's check), a reason when it may not.
 */
export function bundleHandler(handler: string, readable: (files: string[]) => string | undefined): BundledHandler | undefined {
  if (!canBundle() || !MODULE.test(handler)) return undefined;
  let result;
  restLater();
  try {
    // Synchronous (spawn is), so no plugins: imports of the SDK are left
    // external by their look, then checked and pointed at the runner's copy.
    result = buildSync({
      entryPoints: [handler],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      external: SDK_IMPORTS,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
  } catch {
    return undefined;
  }
  let code = result.outputFiles?.[0]?.text;
  const meta = result.metafile;
  if (code === undefined || !meta) return undefined;
  const inputs = Object.keys(meta.inputs).map((p) => resolve(p));
  if (inputs.some((p) => !MODULE.test(p))) return undefined;
  if (readable(inputs) !== undefined) return undefined;
  const sdkSpecifiers = new Set<string>();
  for (const [input, { imports }] of Object.entries(meta.inputs)) {
    for (const i of imports) {
      if (!i.external || isBuiltin(i.path)) continue;
      // Only the SDK may stay an import; anything else only resolves beside the file.
      if (!SDK_SOURCES.has(resolve(dirname(resolve(input)), i.path))) return undefined;
      sdkSpecifiers.add(i.path);
    }
  }
  const sdkUrl = pathToFileURL(paths.sdkJs).href;
  for (const spec of sdkSpecifiers) code = code.split(`from ${JSON.stringify(spec)}`).join(`from ${JSON.stringify(sdkUrl)}`);
  if (/\bimport\.meta\b|\brequire\s*\(|\b__dirname\b|\b__filename\b|\bimport\s*\(/.test(code)) return undefined;
  return { code, inputs };
}
