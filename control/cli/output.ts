/** Output for people (aligned tables) or scripts (-o json). */
export type Format = 'table' | 'json';

export function table(rows: Record<string, string | number>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i]!)).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => String(r[c] ?? ''))))].join('\n');
}

export function print(format: Format, json: unknown, text: () => string): void {
  process.stdout.write(format === 'json' ? JSON.stringify(json, null, 2) + '\n' : text() + '\n');
}

/** An error the CLI reports without a stack: what went wrong and what to do. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
