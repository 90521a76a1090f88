/**
 * The eBPF router outlives the process that loaded it: program, maps and
 * attachment are pinned, so instances keep talking while ferryd restarts.
 * Root only (loads real BPF).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { STAGE_REPLY } from '../../dataplane/descriptor.js';
import { RouterClass } from '../../dataplane/native.js';
import { Injector } from '../../gateway/injector.js';
import { createLogger } from '../../log.js';
import { paths, repoRoot } from '../../paths.js';
import { testPinDir } from '../../../test/helpers/dataplane.js';
import { NodeDataPlane } from '../dataplane.js';
import { EbpfRouter } from './ebpf-router.js';

const root = process.getuid?.() === 0;

describe.skipIf(!root)('eBPF router pinning', () => {
  it('is reused after the loading process exits and keeps routing when ferryd lets go', async () => {
    const pinDir = testPinDir();
    // Another process loads and pins the router, then exits.
    const script = `import { native } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'control/dataplane/native.ts')).href)};
      const r = new native.Router({ object: ${JSON.stringify(paths.bpfObject)}, pinDir: ${JSON.stringify(pinDir)} });
      console.log(r.reused ? 'reused' : 'loaded');`;
    const first = execFileSync(process.execPath, ['--import', pathToFileURL(paths.tsxLoader).href, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(first.trim()).toBe('loaded');

    const log = createLogger({}, 'error');
    const dp = new NodeDataPlane({ mode: 'ebpf', pinDir, log });
    try {
      expect((dp.router as EbpfRouter).reused).toBe(true);
      dp.createPool(3, 'pin');
      const echo = join(repoRoot, 'bench/hop/functions/echo.so');
      dp.spawn({ instanceId: 40, chainId: 3, stage: 0, stageName: 'e', runtime: 'native', handler: echo, next: [] });
      dp.spawn({ instanceId: 41, chainId: 3, stage: 0, stageName: 'e', runtime: 'native', handler: echo, next: [] });
      dp.setRoute(3, 0, [{ instance: 40, weight: 1 }]);
      dp.allow(3, STAGE_REPLY, 0);
      dp.allow(3, 0, STAGE_REPLY);
      const inj = new Injector(dp.openGateway(3, 2));
      expect((await inj.request(0, 'one')).status).toBe('ok');

      // ferryd closes every BPF handle it had, as on a restart...
      dp.router.close();
      // ...and requests still flow through the pinned program and maps.
      expect((await inj.request(0, 'two')).status).toBe('ok');

      // A new ferryd picks up the same maps: counters carried on, and route
      // changes take effect for the running instances.
      const again = new EbpfRouter({ object: paths.bpfObject, pinDir });
      expect(again.reused).toBe(true);
      expect(again.counters(40).rxMsgs).toBe(2);
      again.setRoute(3, 0, [{ instance: 41, weight: 1 }]);
      expect((await inj.request(0, 'three')).status).toBe('ok');
      expect(again.counters(41).rxMsgs).toBe(1);
      again.close();
      inj.close();
    } finally {
      await dp.close();
      RouterClass.unpin(pinDir);
    }
  });
});
