/**
 * Handlers ferryd brings itself, named `builtin:NAME` in StartInstance
 * instead of a path: the control plane does not know where a node keeps
 * its own build (nor does it need the file), so the node resolves the name
 * to its artefact, as it does for the native runner (paths.ts).
 */
import { existsSync } from 'node:fs';
import { paths } from '../paths.js';
import { failedPrecondition, invalid } from './rpc-error.js';

export const BUILTIN_PREFIX = 'builtin:';

/** name -> the runtime it runs under and the file, on this node. */
const BUILTINS: Record<string, { runtime: 'native'; path: string }> = {
  // Federated-learning aggregation (control/fl/DESIGN.md).
  aggregator: { runtime: 'native', path: paths.aggregator },
};

export const isBuiltin = (handler: string) => handler.startsWith(BUILTIN_PREFIX);

/** The file a `builtin:NAME` handler names here. Unknown names and a
 * runtime other than the built-in's are INVALID_ARGUMENT; a built-in this
 * node has not built is FAILED_PRECONDITION (the node needs `npm run setup`). */
export function resolveBuiltin(handler: string, runtime: string): string {
  const name = handler.slice(BUILTIN_PREFIX.length);
  const b = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (!b) throw invalid('handler', `"${handler}" is not a built-in handler (built-ins: ${Object.keys(BUILTINS).map((n) => BUILTIN_PREFIX + n).join(', ')})`);
  if (runtime !== b.runtime) throw invalid('runtime', `"${handler}" runs under runtime "${b.runtime}", not "${runtime}"`);
  if (!existsSync(b.path)) throw failedPrecondition(`handler "${handler}": ${b.path} is not built on this node (npm run setup)`);
  return b.path;
}
