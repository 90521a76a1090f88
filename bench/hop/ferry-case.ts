/**
 * The ferry transport: the pinger is a gateway-role endpoint process, the
 * echo an instance of the runtime under test; each descriptor goes pinger ->
 * router -> echo -> router -> pinger, the payload staying in the pool.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { STAGE_REPLY } from '../../control/dataplane/descriptor.js';
import type { NodeDataPlane } from '../../control/node/dataplane.js';
import { runtimeCommand } from '../../control/node/instance-process.js';
import { repoRoot } from '../../control/paths.js';
import type { CaseSetup } from './case.js';
import type { Runtime } from './options.js';
import { planArg } from './options.js';
import { ferryClient, type FerryPingClient } from './node/ferry-client.js';
import { collectPinger } from './pair.js';
import { pingerCommand, pinned, placement } from './procs.js';
import type { HopResult } from './stats.js';

export const CHAIN = 1;
const GATEWAY = 1;
const ECHO_STAGE = 0;

/** The runtime an echo handler file is for: shared objects are native. */
export const handlerRuntime = (file: string): Runtime => (file.endsWith('.so') ? 'native' : 'node');

/** The stamp echo (functions/stamp-echo.*), unless an override is for this runtime. */
export function echoHandler(runtime: Runtime, overrides: string[] = []): string {
  const override = overrides.find((f) => handlerRuntime(f) === runtime);
  const file = override
    ? resolve(override)
    : join(repoRoot, 'bench/hop/functions', runtime === 'native' ? 'stamp-echo.so' : 'stamp-echo.ts');
  if (!existsSync(file)) throw new Error(`${file} missing: run \`npm run build\``);
  return file;
}

/** The chain every ferry case and the idle probe share, and a gateway in
 * this process that checks an echo is up before it is timed. */
export class FerryBench {
  private nextId = 10;
  private readonly gateway: FerryPingClient;

  constructor(
    readonly dp: NodeDataPlane,
    private readonly echoOverrides: string[] = [],
  ) {
    dp.createPool(CHAIN, 'hop-bench');
    this.gateway = ferryClient(dp.openGateway(CHAIN, GATEWAY), ECHO_STAGE);
  }

  /** Start an echo instance serving stage, reachable from gateways. */
  spawnEcho(runtime: Runtime, stage: number, cpu?: number): { id: number; pid: number } {
    const id = this.nextId++;
    const running = this.dp.spawn({
      instanceId: id,
      chainId: CHAIN,
      stage,
      stageName: `echo-${runtime}`,
      next: [],
      command: pinned(cpu, runtimeCommand(runtime, echoHandler(runtime, this.echoOverrides))),
    });
    this.dp.setRoute(CHAIN, stage, [{ instance: id, weight: 1 }]);
    this.dp.allow(CHAIN, STAGE_REPLY, stage);
    this.dp.allow(CHAIN, stage, STAGE_REPLY);
    return { id, pid: running.pid };
  }

  /**
   * Round trips from this process's gateway until one is answered at all:
   * proves the echo is serving (a Node instance takes a second to start)
   * and warms it. The stamps are the timed pinger's to check.
   */
  async ping(stage: number, times: number, timeoutMs = 30_000): Promise<void> {
    this.gateway.stage = stage;
    const rt = this.gateway.begin(64);
    for (let i = 0; i < times; i++) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<boolean>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`echo on stage ${stage} did not answer in ${timeoutMs} ms`)), timeoutMs);
        rt(resolve);
      }).finally(() => clearTimeout(timer));
    }
    this.gateway.end();
  }

  async run(runtime: Runtime, setup: CaseSetup): Promise<HopResult[]> {
    const cpu = placement(setup.pin);
    const echo = this.spawnEcho(runtime, ECHO_STAGE, cpu.echo);
    const dir = setup.caseDir(`ferry-${runtime}`);
    try {
      await this.ping(ECHO_STAGE, 10);
      const id = this.nextId++;
      const pinger = this.dp.spawn({
        instanceId: id,
        chainId: CHAIN,
        stage: STAGE_REPLY,
        stageName: 'pinger',
        next: [],
        role: 'gateway',
        command: pinned(cpu.pinger, [
          ...pingerCommand(runtime),
          'ferry',
          '--stage', String(ECHO_STAGE),
          '--plan', planArg(setup.cases),
          '--budget-ms', String(setup.budgetMs),
          '--out', dir,
        ]),
      });
      return await collectPinger(pinger.child, pinger.stderr, {
        transport: 'ferry',
        runtime,
        cases: setup.cases,
        budgetMs: setup.budgetMs,
        dir,
      });
    } finally {
      await this.dp.stop(echo.id);
    }
  }

  close(): void {
    this.gateway.close();
  }
}
