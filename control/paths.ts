import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout root: the nearest folder above this file with package.json.
 * Works both from sources (vitest, tsx) and from dist/. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('ferry: cannot find the checkout root (package.json)');
    dir = up;
  }
  return dir;
}

export const repoRoot = findRoot();

/** Built artefacts, produced by `npm run setup`. */
export const paths = {
  addon: join(repoRoot, 'dataplane-native/build/Release/ferry_native.node'),
  bpfObject: join(repoRoot, 'bpf/build/sk_msg_router.bpf.o'),
  nativeRunner: join(repoRoot, 'dataplane-native/out/ferry-runner'),
  sandboxLauncher: join(repoRoot, 'dataplane-native/out/ferry-sandbox'),
  /** The built-in aggregator of aggregation jobs (handler "builtin:aggregator"). */
  aggregator: join(repoRoot, 'dataplane-native/out/ferry-aggregator.so'),
  nodeRunner: join(repoRoot, 'control/runtime/node-runner.ts'),
  /** The runner compiled (npm run build): what runs a handler ferryd bundled. */
  nodeRunnerJs: join(repoRoot, 'dist/control/runtime/node-runner.js'),
  sdkJs: join(repoRoot, 'dist/control/runtime/sdk.js'),
  tsxLoader: join(repoRoot, 'node_modules/tsx/dist/loader.mjs'),
};
