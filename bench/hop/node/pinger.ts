/**
 * Node pinger of the hop benchmark (bench/hop/README.md); the same command
 * line and output as the native one (bench/hop/native/pinger.c):
 *
 *   pinger.js ferry --stage S --plan ... --out DIR   (spawned by the data
 *                                                      plane as a gateway)
 *   pinger.js tcp|http --port P --plan ... --out DIR
 */
import type { PingClient } from './client.js';
import { measure, parsePlan, report } from './driver.js';
import { httpClient, tcpClient } from './stream-clients.js';

async function connect(transport: string | undefined, port: number, stage: number): Promise<PingClient> {
  if (transport === 'ferry') {
    // Loaded only here: the baselines need no addon. The instance maps the
    // pool from the FERRY_* environment.
    const [{ ferryClient }, { native }] = await Promise.all([import('./ferry-client.js'), import('../../../control/dataplane/native.js')]);
    return ferryClient(new native.Instance(), stage);
  }
  if (transport === 'tcp') return tcpClient(port);
  if (transport === 'http') return httpClient(port);
  throw new Error('usage: pinger ferry|tcp|http --plan SIZE:ITER:WARMUP[,...] --out DIR [--port P] [--stage S]');
}

async function main(): Promise<void> {
  const [transport, ...rest] = process.argv.slice(2);
  const plan = parsePlan(rest);
  const client = await connect(transport, plan.port, plan.stage);
  for (const c of plan.cases) {
    const rt = client.begin(c.size);
    const m = await measure(plan, c, rt);
    const { verified, note } = client.end();
    report(plan, c, m, verified && !m.failed, note);
  }
  client.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`hop pinger: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
