/**
 * The baseline aggregator as a process of its own (so its RSS and CPU are
 * measured apart from the load generator):
 *
 *   node --import tsx bench/fl/baseline/main.ts '<BaselineConfig JSON>'
 *
 * Prints one line `{"ready":true,"port":P,"kernel":"native"|"ts"}` on stdout
 * once it listens; stops on SIGTERM/SIGINT.
 */
import { initialModel, paramCount, type Layer } from '../../../control/fl/model.js';
import type { Rules } from './fedavg.js';
import { foldKernel } from './fold.js';
import { serveBaseline } from './server.js';

export interface BaselineConfig extends Rules {
  host: string;
  port: number;
  /** The model's layers (empty: one flat tensor of rules.paramCount). */
  layers: Layer[];
  seed: number;
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) throw new Error(`usage: main.ts '<config JSON>' (bench/fl/baseline/main.ts: BaselineConfig)`);
  const cfg = JSON.parse(arg) as BaselineConfig;
  if (cfg.layers.length > 0 && paramCount(cfg.layers) !== cfg.paramCount) throw new Error(`layers hold ${paramCount(cfg.layers)} parameters, paramCount says ${cfg.paramCount}`);
  const running = await serveBaseline({ host: cfg.host, port: cfg.port, rules: cfg, initial: initialModel(cfg.layers, cfg.paramCount, cfg.seed) });
  const stop = () => void running.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ ready: true, port: running.port, kernel: foldKernel })}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`baseline aggregator: ${err.message}\n`);
  process.exit(1);
});
