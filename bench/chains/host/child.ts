/**
 * The life of a baseline process: its config from the environment
 * (FERRY_BASELINE_CONFIG, JSON), "ready" over the IPC channel once it
 * serves, and an exit when told (SIGTERM) or when the system that started
 * it is gone (the channel closes), so no process outlives its run.
 */
export const CONFIG_ENV = 'FERRY_BASELINE_CONFIG';

export interface ReadyMessage {
  ready: true;
}

export function runChild<C>(role: string, main: (config: C) => Promise<unknown>): void {
  const raw = process.env[CONFIG_ENV];
  const fail = (why: string) => {
    process.stderr.write(`baseline ${role}: ${why}\n`);
    process.exit(3);
  };
  if (!raw) return fail(`no ${CONFIG_ENV}: started by bench/chains/systems/, not by hand`);
  process.on('SIGTERM', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
  main(JSON.parse(raw) as C).then(
    () => process.send?.({ ready: true } satisfies ReadyMessage),
    (err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)),
  );
}
