/**
 * The baselines: the same ping-pong over plain loopback TCP (length-prefixed)
 * and over HTTP/1.1 keep-alive, both sides of the same runtime, the payload
 * crossing the socket both ways on every round trip.
 */
import type { CaseSetup } from './case.js';
import type { Runtime } from './options.js';
import { planArg } from './options.js';
import { collectPinger } from './pair.js';
import { echoServerCommand, exited, pingerCommand, pinned, placement, run, startServer, stderrTail } from './procs.js';
import type { HopResult } from './stats.js';

export async function runSocketCase(transport: 'tcp-loopback' | 'http', runtime: Runtime, setup: CaseSetup): Promise<HopResult[]> {
  const dir = setup.caseDir(`${transport}-${runtime}`);
  const cpu = placement(setup.pin);
  const kind = transport === 'http' ? 'http' : 'tcp';
  const server = await startServer(pinned(cpu.echo, [...echoServerCommand(runtime), kind]));
  try {
    const pinger = run(
      pinned(cpu.pinger, [
        ...pingerCommand(runtime),
        kind,
        '--port', String(server.port),
        '--plan', planArg(setup.cases),
        '--budget-ms', String(setup.budgetMs),
        '--out', dir,
      ]),
    );
    return await collectPinger(pinger, stderrTail(pinger), {
      transport,
      runtime,
      cases: setup.cases,
      budgetMs: setup.budgetMs,
      dir,
    });
  } finally {
    server.child.kill('SIGTERM');
    await exited(server.child);
  }
}
