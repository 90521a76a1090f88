/**
 * An instance's environment, built from an allow-list rather than
 * inherited: ferryd's own variables (npm_*, credentials, NODE_OPTIONS)
 * never reach a function. It gets a fixed PATH and HOME, LANG, LC_ALL and
 * TZ when ferryd has them, FERRY_LOG_LEVEL, the FERRY_* variables ferryd
 * sets for the runtime, and the caller's own variables (checked at the edge
 * by control/ferryd/validate.ts: nothing that changes how a runtime loads).
 */

export const INSTANCE_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Set by ferryd whatever the caller says. */
export const FIXED_ENV: Record<string, string> = { PATH: INSTANCE_PATH, HOME: '/tmp' };

/** Taken from ferryd's environment when set there. */
export const INHERITED_ENV = ['LANG', 'LC_ALL', 'TZ', 'FERRY_LOG_LEVEL'];

export function instanceEnv(
  runtime: Record<string, string>,
  user: Record<string, string> = {},
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const k of INHERITED_ENV) {
    const v = parent[k];
    if (v !== undefined) inherited[k] = v;
  }
  return { ...inherited, ...user, ...FIXED_ENV, ...runtime };
}
