/**
 * A baseline's function process: one instance of one stage. Runs the
 * stage's function on each request (stage-fn.ts, ferry's semantics); its
 * output goes on to the next stage it chose, synchronously, and whatever
 * comes back is relayed to the caller unchanged (nested calls, as
 * microservices calling each other do). A last stage, a function's own
 * answer or its failure answers the caller directly.
 */
import { GatewayError } from '../../../control/gateway/errors.js';
import { errorAnswer } from './answer.js';
import { runChild } from './child.js';
import { loadStage, type StageSpec } from './stage-fn.js';
import { transportOf, type TransportName } from './transports.js';

export interface FunctionConfig {
  transport: TransportName;
  port: number;
  stage: StageSpec;
  /** Each next stage's instances (or their proxies), "127.0.0.1:PORT", by stage name. */
  next: Record<string, string[]>;
}

runChild<FunctionConfig>('function', async (config) => {
  const t = transportOf(config.transport);
  const fn = await loadStage(config.stage);
  const hops = config.stage.next.map((name) => {
    const targets = config.next[name];
    if (!targets?.length) throw new Error(`stage ${config.stage.name}: no instances given for next stage ${name}`);
    return t.hop(targets, config.stage.chain);
  });
  await t.serve(config.port, async (body, requestId) => {
    try {
      const r = await fn.run(body, requestId);
      if (r.kind === 'answer') return t.fromAnswer(r.answer);
      return await hops[r.index]!.call(r.body, { requestId });
    } catch (err) {
      // A bug here, not the function's failure (that is an answer): the
      // caller still gets one, and the process serves on.
      const message = `stage ${config.stage.name}: ${err instanceof Error ? err.message : String(err)}`;
      return t.fromAnswer(errorAnswer(new GatewayError(500, 'internal', message, config.stage.chain)));
    }
  });
});
