/** CPU quantities as Kubernetes writes them: "500m" (millicores), or cores
 * as a number or numeric string (0.5, 1, "2"). */

export const CPU_EXPECTED = 'CPU as millicores ("500m") or cores (0.5, "2")';

export type CpuResult = { ok: true; milli: number } | { ok: false; message: string };

export function parseCpu(value: string | number): CpuResult {
  const found = typeof value === 'string' ? JSON.stringify(value) : String(value);
  let milli: number;
  if (typeof value === 'number') {
    milli = value * 1000;
  } else {
    const s = value.trim();
    const m = /^(\d+)m$/.exec(s);
    if (m) milli = Number(m[1]);
    else if (/^\d+(\.\d+)?$/.test(s)) milli = Number(s) * 1000;
    else return { ok: false, message: `expected ${CPU_EXPECTED}, found ${found}` };
  }
  if (!Number.isFinite(milli) || milli <= 0) return { ok: false, message: `expected a CPU amount > 0, found ${found}` };
  // Floating point: 0.3 * 1000 is 300.00000000000006; only a real fraction
  // of a millicore is an error.
  const rounded = Math.round(milli);
  if (Math.abs(milli - rounded) > 1e-6) {
    return { ok: false, message: `expected CPU in whole millicores (at most 3 decimals of a core), found ${found}` };
  }
  return { ok: true, milli: rounded };
}
