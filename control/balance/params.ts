/**
 * Parameters of balance policies: each policy declares what it takes (range,
 * default, integer or not) and one checker turns what a chain YAML or a
 * ProgramChain says into the numbers the policy is built with, or a message
 * that names the parameter, what it must be and what was given.
 */

export interface ParamSpec {
  /** What it means, for the error messages and the README. */
  description: string;
  default: number;
  min: number;
  max: number;
  /** min and max themselves allowed (default true). */
  inclusive?: boolean;
  integer?: boolean;
}

export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

/** A policy's parameters after validation, defaults filled in (numbers
 * only; consistent hashing's request key is carried beside them). */
export type PolicyParams = Readonly<Record<string, number>>;

/** A problem with one parameter (field: its name, '' for the set). */
export interface ParamProblem {
  field: string;
  message: string;
}

function describeRange(s: ParamSpec): string {
  const kind = s.integer ? 'a whole number' : 'a number';
  return s.inclusive === false ? `${kind} above ${s.min} and below ${s.max}` : `${kind} from ${s.min} to ${s.max}`;
}

/** The full parameter set (defaults filled in), or the problems. */
export function checkParams(
  policy: string,
  specs: ParamSpecs,
  given: Readonly<Record<string, unknown>>,
): { params: Record<string, number>; problems: ParamProblem[] } {
  const problems: ParamProblem[] = [];
  const params: Record<string, number> = {};
  for (const [key, value] of Object.entries(given)) {
    const spec = specs[key];
    if (!spec) {
      const known = Object.keys(specs);
      problems.push({
        field: key,
        message: `policy ${policy} has no parameter "${key}"${known.length ? ` (it takes: ${known.join(', ')})` : ' (it takes none)'}`,
      });
      continue;
    }
    const inRange =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (!spec.integer || Number.isInteger(value)) &&
      (spec.inclusive === false ? value > spec.min && value < spec.max : value >= spec.min && value <= spec.max);
    if (!inRange) {
      problems.push({ field: key, message: `expected ${describeRange(spec)} (${spec.description}), found ${JSON.stringify(value)}` });
      continue;
    }
    params[key] = value as number;
  }
  for (const [key, spec] of Object.entries(specs)) if (!(key in params)) params[key] = spec.default;
  return { params, problems };
}
