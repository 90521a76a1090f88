/** Picks the router for this node and says loudly which one runs. */
import { existsSync } from 'node:fs';
import type { Logger } from '../../log.js';
import { paths } from '../../paths.js';
import { EbpfRouter } from './ebpf-router.js';
import { RelayRouter } from './relay-router.js';
import type { Router } from './router.js';

export type ModeRequest = 'auto' | 'ebpf' | 'fallback';

export interface RouterSelection {
  mode?: ModeRequest;
  pinDir?: string;
  bpfObject?: string;
  forceReload?: boolean;
  log: Logger;
}

export const DEFAULT_PIN_DIR = '/sys/fs/bpf/ferry';

export function selectRouter(opts: RouterSelection): Router {
  const mode = opts.mode ?? (process.env.FERRY_DATAPLANE as ModeRequest | undefined) ?? 'auto';
  if (mode !== 'fallback') {
    try {
      const object = opts.bpfObject ?? paths.bpfObject;
      if (!existsSync(object)) throw new Error(`BPF object ${object} not built: run \`npm run setup\``);
      const router = new EbpfRouter({ object, pinDir: opts.pinDir ?? DEFAULT_PIN_DIR, forceReload: opts.forceReload });
      opts.log.info(`data plane mode: ebpf — ${router.description}`, { mode: 'ebpf' });
      return router;
    } catch (err) {
      if (mode === 'ebpf') throw err;
      opts.log.warn(
        `data plane mode: FALLBACK — eBPF routing unavailable, ferryd relays every descriptor itself (slower). Reason: ${(err as Error).message}`,
        { mode: 'fallback' },
      );
    }
  }
  const relay = new RelayRouter();
  if (mode === 'fallback') opts.log.info(`data plane mode: fallback — ${relay.description} (requested)`, { mode: 'fallback' });
  return relay;
}
