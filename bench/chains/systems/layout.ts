/**
 * The process layouts of the baselines: every stage instance its own
 * function process, calls between them over a transport, optionally a
 * queue-proxy in front of each instance (knative), and one ingress.
 */
import type { FunctionConfig } from '../host/function-main.js';
import type { IngressConfig } from '../host/ingress-main.js';
import type { QueueProxyConfig } from '../host/queue-proxy-main.js';
import type { TransportName } from '../host/transports.js';
import type { Layout, ProcessSpec } from './baseline.js';

const at = (port: number) => `127.0.0.1:${port}`;

export interface LayoutOptions {
  transport: TransportName;
  /** A queue-proxy in front of every instance with this containerConcurrency. */
  queueProxy?: { containerConcurrency: number };
}

export function chainLayout(opts: LayoutOptions): Layout {
  return (plans, ports) => {
    const processes: ProcessSpec[] = [];
    const ingressPort = ports.take();
    const chains: IngressConfig['chains'] = [];
    for (const plan of plans) {
      // Where each stage is called: its instances, or their proxies.
      const front = new Map<string, string[]>();
      const own = new Map<string, number[]>();
      for (const s of plan.stages) {
        const fnPorts = Array.from({ length: s.instances }, () => ports.take());
        own.set(s.name, fnPorts);
        if (!opts.queueProxy) {
          front.set(s.name, fnPorts.map(at));
          continue;
        }
        const proxyPorts = fnPorts.map((userPort, i) => {
          const port = ports.take();
          const config: QueueProxyConfig = { port, userPort, containerConcurrency: opts.queueProxy!.containerConcurrency };
          processes.push({ role: 'queue-proxy', label: `${plan.name}-${s.name}-qp#${i}`, config });
          return port;
        });
        front.set(s.name, proxyPorts.map(at));
      }
      for (const s of plan.stages) {
        const next = Object.fromEntries(s.next.map((n) => [n, front.get(n)!]));
        own.get(s.name)!.forEach((port, i) => {
          const { instances: _, ...stage } = s;
          const config: FunctionConfig = { transport: opts.transport, port, stage, next };
          processes.push({ role: 'function', label: `${plan.name}-${s.name}#${i}`, config });
        });
      }
      const entryStage = plan.stages.find((s) => s.name === plan.entry)!.id;
      chains.push({ name: plan.name, maxBodyBytes: plan.maxBodyBytes, timeoutMs: plan.timeoutMs, entryStage, entry: front.get(plan.entry)! });
    }
    const ingress: IngressConfig = { transport: opts.transport, port: ingressPort, chains };
    processes.push({ role: 'ingress', label: 'ingress', config: ingress });
    return { processes, ingressPort };
  };
}
