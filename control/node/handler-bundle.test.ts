/**
 * Node handlers bundled by ferryd: what is bundled (and runs on the
 * compiled runner with no TypeScript loader), and every case that must be
 * left to the runtime to load as a file.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_REPLY } from '../dataplane/descriptor.js';
import { Injector } from '../gateway/injector.js';
import { paths, repoRoot } from '../paths.js';
import { openDataPlane, sharedTempDir, sleep } from '../../test/helpers/dataplane.js';
import { bundleHandler, canBundle } from './handler-bundle.js';
import type { NodeDataPlane } from './dataplane.js';

const dir = sharedTempDir('ferry-bundle-');
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const everyoneMayRead = () => undefined;

beforeAll(() => {
  // Needs the compiled runner and SDK (npm run build, which npm test runs first).
  expect(canBundle()).toBe(true);
  file('lib.ts', `export const shout = (s: string): string => s.toUpperCase() + '!';\n`);
});

describe('bundling a Node handler', () => {
  it('inlines the local modules it imports, strips types, and leaves node: builtins and the SDK as imports', () => {
    const h = file('ok.ts', `import { createHash } from 'node:crypto';
import { HttpError } from '${join(repoRoot, 'control/runtime/sdk.js')}';
import { shout } from './lib.js';
interface In { name: string }
export default (ctx: { json(): In }) => { if (!ctx) throw new HttpError(400, 'x'); return { v: shout(ctx.json().name), h: createHash('sha1').digest('hex').length }; };
`);
    const b = bundleHandler(h, everyoneMayRead)!;
    expect(b).toBeDefined();
    expect(b.inputs.sort()).toEqual([join(dir, 'lib.ts'), h].sort());
    expect(b.code).toContain('toUpperCase');
    expect(b.code).not.toContain('interface');
    expect(b.code).toContain(`from "node:crypto"`);
    // One SDK: the runner's compiled copy, by URL, not a second one inlined.
    expect(b.code).toContain(`file://${paths.sdkJs}`);
    expect(b.code).not.toContain('Symbol.for("ferry.httpError")');
  });

  it('bundles the example chains\' handlers', () => {
    for (const h of ['online-boutique/functions/checkout.ts', 'motion/functions/detect.ts', 'wordcount/functions/normalize.ts']) {
      const path = join(repoRoot, 'chains', h);
      try {
        readFileSync(path);
      } catch {
        continue; // an example renamed: the others still count
      }
      expect(bundleHandler(path, everyoneMayRead), h).toBeDefined();
    }
  });

  it.each([
    ['imports a package (it only resolves beside the file)', `import { parse } from 'yaml';\nexport default () => parse('a: 1');\n`],
    ['uses import.meta (its location would be a data: URL)', `export default () => import.meta.url;\n`],
    ['uses __dirname', `export default () => __dirname;\n`],
    ['does not build (the runtime shows its own error)', `export default () => {{;\n`],
    ['imports a data file esbuild would inline', `import data from './data.json';\nexport default () => data;\n`],
  ])('leaves a handler that %s to the runtime', (_why, text) => {
    file('data.json', '{"secret": 1}');
    expect(bundleHandler(file('h.ts', text), everyoneMayRead)).toBeUndefined();
  });

  it('leaves it to the runtime when the tenant could not read a file it imports', () => {
    const h = file('reads.ts', `import { shout } from './lib.js';\nexport default () => shout('a');\n`);
    const asked: string[][] = [];
    const b = bundleHandler(h, (files) => {
      asked.push(files);
      return files.some((f) => f.endsWith('lib.ts')) ? 'lib.ts is not readable by uid 1234' : undefined;
    });
    expect(b).toBeUndefined();
    expect(asked.flat()).toContain(join(dir, 'lib.ts'));
  });
});

describe('a bundled handler in a real instance', () => {
  let dp: NodeDataPlane;
  let cleanup: () => Promise<void>;
  let inj: Injector | undefined;

  afterEach(async () => {
    inj?.close();
    await cleanup?.();
  });


  it("never bundles for a tenant a file its user could not read: the runtime loads it as that user and fails", async () => {
    ({ dp, cleanup } = await openDataPlane('fallback'));
    // Only a sandbox that runs tenants as their own users can refuse them a file.
    expect(dp.sandbox.status).toMatch(/^uid/);
    const secretDir = sharedTempDir('ferry-bundle-secret-');
    chmodSync(secretDir, 0o755);
    const secret = join(secretDir, 'secret.ts');
    writeFileSync(secret, `export const card = '4111 1111 1111 1111';\n`);
    const h = join(secretDir, 'leak.ts');
    writeFileSync(h, `import { card } from './secret.js';\nexport default () => card;\n`);
    chmodSync(h, 0o644);
    const asTenant = (files: string[]) => dp.sandbox.unreachable('default', files.map((path) => ({ path, need: 'read' as const })));
    chmodSync(secret, 0o600);
    expect(bundleHandler(h, asTenant)).toBeUndefined();
    chmodSync(secret, 0o644);
    expect(bundleHandler(h, asTenant)?.code).toContain('4111');
    // Spawned with the secret unreadable: loaded as a file, as the tenant,
    // which cannot import it; the instance dies and never serves.
    chmodSync(secret, 0o600);
    dp.createPool(9, 'bundle', { classes: [{ size: 4096, count: 32 }] });
    const exited = new Promise<number | null>((resolve) => dp.on('instance-exit', (id, exit) => id === 31 && resolve(exit.code)));
    const inst = dp.spawn({ instanceId: 31, chainId: 9, stage: 0, stageName: 'leak', runtime: 'node', handler: h, next: [] });
    expect(readFileSync(`/proc/${inst.pid}/cmdline`, 'utf8')).toContain(paths.tsxLoader);
    // The runner's exit code for a function that fails to load.
    expect(await exited).toBe(3);
    expect(inst.ready).toBe(false);
  });

  it('runs on the compiled runner, without a TypeScript loader, and answers', async () => {
    ({ dp, cleanup } = await openDataPlane('fallback'));
    dp.createPool(9, 'bundle', { classes: [{ size: 4096, count: 32 }] });
    inj = new Injector(dp.openGateway(9, 1));
    const h = file('greet.ts', `import { shout } from './lib.js';\nexport default (ctx: { json(): { name: string } }) => ({ said: shout(ctx.json().name) });\n`);
    const inst = dp.spawn({ instanceId: 30, chainId: 9, stage: 0, stageName: 'greet', runtime: 'node', handler: h, next: [] });
    dp.setRoute(9, 0, [{ instance: 30, weight: 1 }]);
    dp.allow(9, STAGE_REPLY, 0);
    dp.allow(9, 0, STAGE_REPLY);
    for (let i = 0; i < 200 && !inst.ready; i++) await sleep(25);
    expect(inst.ready).toBe(true);
    const argv = readFileSync(`/proc/${inst.pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toContain(paths.nodeRunnerJs);
    expect(argv.join(' ')).not.toContain('tsx');
    const reply = await inj.request(0, '{"name":"ferry"}');
    expect(JSON.parse(new TextDecoder().decode(reply.body))).toEqual({ said: 'FERRY!' });
  });
});
