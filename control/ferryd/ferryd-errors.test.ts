/**
 * Bad requests get the right gRPC code and a message naming what was
 * wrong, and none of them takes ferryd down.
 */
import { Client, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths } from '../paths.js';
import { modes } from '../../test/helpers/dataplane.js';
import { CHANNEL_OPTIONS, channelCredentials, expectServer } from '../auth/grpc.js';
import { FerrydError } from './client.js';
import { chainInstances, chainProgram, controlPlaneTls, startTestFerryd, type TestFerryd, untilReady } from './testdata/harness.js';

const CHAIN = 51;
const BASE = 500;
const GW = 599;
// One mode is enough: validation does not depend on it.
const mode = modes[0]!;

describe(`ferryd refuses bad requests (${mode} mode)`, () => {
  let t: TestFerryd;

  beforeAll(async () => {
    t = await startTestFerryd(mode);
    await t.client.createPool({ chainId: CHAIN, chainName: 'errs', classes: [{ size: 4096, count: 8 }] });
    for (const req of chainInstances(CHAIN, BASE)) await t.client.startInstance(req);
    await untilReady(t.client, CHAIN);
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  async function refusal(call: Promise<unknown>): Promise<{ code: string; message: string }> {
    try {
      await call;
    } catch (err) {
      expect(err).toBeInstanceOf(FerrydError);
      const e = err as FerrydError;
      return { code: e.codeName, message: e.details };
    }
    throw new Error('the request was accepted');
  }

  const start = (over: object) => chainInstances(CHAIN, 700).map((r) => ({ ...r, ...over }))[0]!;
  const program = (over: object) => ({ ...chainProgram(CHAIN, BASE, GW, 'errs'), ...over });

  const cases: [string, () => Promise<unknown>, string, RegExp][] = [
    ['pool without a chain id', () => t.client.createPool({ chainName: 'x' }), 'INVALID_ARGUMENT', /chain_id: must be 1 or more/],
    ['pool without a name', () => t.client.createPool({ chainId: 9 }), 'INVALID_ARGUMENT', /chain_name: is required/],
    ['pool with a size class not a multiple of 64', () => t.client.createPool({ chainId: 9, chainName: 'x', classes: [{ size: 100, count: 1 }] }), 'INVALID_ARGUMENT', /classes\[0\]\.size/],
    ['same pool with other classes', () => t.client.createPool({ chainId: CHAIN, chainName: 'errs', classes: [{ size: 8192, count: 8 }] }), 'ALREADY_EXISTS', /already has a pool here with classes/],
    ['same pool under another name', () => t.client.createPool({ chainId: CHAIN, chainName: 'other', classes: [{ size: 4096, count: 8 }] }), 'ALREADY_EXISTS', /as "errs"/],
    ['instance of a chain with no pool', () => t.client.startInstance(start({ chainId: 77 })), 'FAILED_PRECONDITION', /chain 77 has no pool/],
    ['instance id 0', () => t.client.startInstance(start({ instanceId: 0 })), 'INVALID_ARGUMENT', /instance_id: must be 1\.\.16383/],
    ['instance id past the sockhash', () => t.client.startInstance(start({ instanceId: 16384 })), 'INVALID_ARGUMENT', /instance_id/],
    ['unknown runtime', () => t.client.startInstance(start({ runtime: 'python' })), 'INVALID_ARGUMENT', /runtime: must be "node" or "native"/],
    ['missing handler file', () => t.client.startInstance(start({ handler: '/nonexistent/f.ts' })), 'INVALID_ARGUMENT', /handler: \/nonexistent\/f\.ts does not exist/],
    ['relative handler path', () => t.client.startInstance(start({ handler: 'f.ts' })), 'INVALID_ARGUMENT', /handler: must be an absolute path/],
    ['handler that is a directory', () => t.client.startInstance(start({ handler: '/tmp' })), 'INVALID_ARGUMENT', /is not a file/],
    ['built-in handler that does not exist', () => t.client.startInstance(start({ runtime: 'native', handler: 'builtin:aggregater' })), 'INVALID_ARGUMENT', /handler: "builtin:aggregater" is not a built-in handler \(built-ins: builtin:aggregator\)/],
    ['built-in handler under another runtime', () => t.client.startInstance(start({ runtime: 'node', handler: 'builtin:aggregator' })), 'INVALID_ARGUMENT', /runtime: "builtin:aggregator" runs under runtime "native", not "node"/],
    ['env that overrides the runtime contract', () => t.client.startInstance(start({ env: { FERRY_POOL_FD: '9' } })), 'INVALID_ARGUMENT', /env\["FERRY_POOL_FD"\]: is reserved: ferryd sets the FERRY_\* variables itself/],
    // Code of the caller's choosing in the runtime (and, before the sandbox, as root).
    ['env NODE_OPTIONS importing a data: URL', () => t.client.startInstance(start({ env: { NODE_OPTIONS: '--import=data:text/javascript,process.exit(9)' } })), 'INVALID_ARGUMENT', /env\["NODE_OPTIONS"\]: changes how Node\.js loads code.*not allowed for a function/],
    ['env NODE_PATH', () => t.client.startInstance(start({ env: { NODE_PATH: '/tmp/evil' } })), 'INVALID_ARGUMENT', /env\["NODE_PATH"\]: changes how Node\.js loads code/],
    ['env LD_PRELOAD', () => t.client.startInstance(start({ env: { LD_PRELOAD: '/tmp/evil.so' } })), 'INVALID_ARGUMENT', /env\["LD_PRELOAD"\]: changes how programs are linked and loaded/],
    ['env GLIBC_TUNABLES', () => t.client.startInstance(start({ env: { GLIBC_TUNABLES: 'glibc.malloc.check=3' } })), 'INVALID_ARGUMENT', /env\["GLIBC_TUNABLES"\]/],
    ['env MALLOC_ARENA_MAX', () => t.client.startInstance(start({ env: { MALLOC_ARENA_MAX: '1' } })), 'INVALID_ARGUMENT', /env\["MALLOC_ARENA_MAX"\]: changes glibc's allocator/],
    ['env TSX_TSCONFIG_PATH', () => t.client.startInstance(start({ env: { TSX_TSCONFIG_PATH: '/tmp/t.json' } })), 'INVALID_ARGUMENT', /env\["TSX_TSCONFIG_PATH"\]: changes how tsx loads TypeScript/],
    ['env UV_THREADPOOL_SIZE', () => t.client.startInstance(start({ env: { UV_THREADPOOL_SIZE: '128' } })), 'INVALID_ARGUMENT', /env\["UV_THREADPOOL_SIZE"\]/],
    ['env OPENSSL_CONF', () => t.client.startInstance(start({ env: { OPENSSL_CONF: '/tmp/engine.cnf' } })), 'INVALID_ARGUMENT', /env\["OPENSSL_CONF"\]: makes OpenSSL load/],
    ['env GCONV_PATH', () => t.client.startInstance(start({ env: { GCONV_PATH: '/tmp' } })), 'INVALID_ARGUMENT', /env\["GCONV_PATH"\]: makes glibc load files/],
    ['env PATH', () => t.client.startInstance(start({ env: { PATH: '/tmp' } })), 'INVALID_ARGUMENT', /env\["PATH"\]: is fixed by ferryd/],
    ['env FERRY_NODE', () => t.client.startInstance(start({ env: { FERRY_NODE: 'elsewhere' } })), 'INVALID_ARGUMENT', /env\["FERRY_NODE"\]: is reserved/],
    ['env name in lower case', () => t.client.startInstance(start({ env: { node_options: '--require x' } })), 'INVALID_ARGUMENT', /env\["node_options"\]: is not a valid variable name/],
    ['env name with a dash', () => t.client.startInstance(start({ env: { 'A-B': '1' } })), 'INVALID_ARGUMENT', /env\["A-B"\]: is not a valid variable name/],
    ['env value with NUL', () => t.client.startInstance(start({ env: { GREETING: 'a\0LD_PRELOAD=x' } })), 'INVALID_ARGUMENT', /env\["GREETING"\]: must not contain NUL/],
    ['env value too long', () => t.client.startInstance(start({ env: { BIG: 'x'.repeat(5000) } })), 'INVALID_ARGUMENT', /env\["BIG"\]: value of 5000 bytes is more than 4096/],
    ['too many env entries', () => t.client.startInstance(start({ env: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`V${i}`, '1'])) })), 'INVALID_ARGUMENT', /env: at most 64 variables \(got 65\)/],
    ['instance of another tenant than its pool', () => t.client.startInstance(start({ tenant: 'mallory' })), 'INVALID_ARGUMENT', /tenant: "mallory" is not the tenant of chain 51 on this node \("default", from CreatePool\)/],
    ['memory limit past any machine', () => t.client.startInstance(start({ resources: { memoryMb: 1 << 30 } })), 'INVALID_ARGUMENT', /resources\.memory_mb: must be at most/],
    ['stage name with a separator', () => t.client.startInstance(start({ stageName: 'a,b' })), 'INVALID_ARGUMENT', /stage_name/],
    ['instance id already running', () => t.client.startInstance(start({ instanceId: BASE })), 'ALREADY_EXISTS', /instance 500 already exists/],
    ['stop of an unknown instance', () => t.client.stopInstance({ instanceId: 4242 }), 'NOT_FOUND', /instance 4242 is not on this node/],
    ['route to an instance not here', () => t.client.programChain(program({ routes: [{ stage: 0, targets: [{ instance: 4242, weight: 1 }] }] })), 'FAILED_PRECONDITION', /instance 4242 is not on this node/],
    ['route to an instance of another stage', () => t.client.programChain(program({ routes: [{ stage: 0, targets: [{ instance: BASE + 1, weight: 1 }] }] })), 'INVALID_ARGUMENT', /serves stage 1 \(count\), not 0/],
    ['route for the reply pseudo-stage', () => t.client.programChain(program({ routes: [{ stage: 65535, targets: [] }] })), 'INVALID_ARGUMENT', /routes\[0\]\.stage/],
    ['allow edge out of range', () => t.client.programChain(program({ allow: [{ fromStage: 70000, toStage: 0 }] })), 'INVALID_ARGUMENT', /allow\[0\]\.from_stage/],
    ['gateway id that is an instance', () => t.client.programChain(program({ gateway: { chainName: 'errs', entryStage: 0, gatewayInstanceId: BASE } })), 'ALREADY_EXISTS', /gateway_instance_id: 500 is an instance/],
    ['gateway without an id', () => t.client.programChain(program({ gateway: { chainName: 'errs', entryStage: 0 } })), 'INVALID_ARGUMENT', /gateway\.gateway_instance_id/],
    ['gateway body larger than any buffer', () => t.client.programChain(program({ gateway: { chainName: 'errs', entryStage: 0, gatewayInstanceId: GW, maxBodyBytes: 1 << 20 } })), 'INVALID_ARGUMENT', /max_body_bytes.*4096/],
    ['program of a chain with no pool, with a gateway', () => t.client.programChain({ chainId: 78, gateway: { chainName: 'n', entryStage: 0, gatewayInstanceId: 5 } }), 'FAILED_PRECONDITION', /chain 78 has no pool/],
  ];

  it.each(cases)('%s', async (_what, call, code, message) => {
    const r = await refusal(call());
    expect(r.code).toBe(code);
    expect(r.message).toMatch(message);
  });

  // builtin:aggregator is ferryd's own build of the aggregator (branch
  // fl-native adds it to `npm run setup`): it starts where it is built,
  // and where it is not the refusal says how to build it.
  it.skipIf(existsSync(paths.aggregator))('refuses builtin:aggregator where the aggregator is not built, saying how to build it', async () => {
    const r = await refusal(t.client.startInstance(start({ runtime: 'native', handler: 'builtin:aggregator' })));
    expect(r).toEqual({ code: 'FAILED_PRECONDITION', message: `handler "builtin:aggregator": ${paths.aggregator} is not built on this node (npm run setup)` });
  });

  it.runIf(existsSync(paths.aggregator))('starts builtin:aggregator as the aggregator ferryd built', async () => {
    const id = 720;
    await t.client.startInstance(start({ instanceId: id, runtime: 'native', handler: 'builtin:aggregator', stageName: 'top' }));
    const { instances } = await t.client.listInstances({ chainId: CHAIN });
    expect(instances.find((i) => i.instanceId === id)?.state).not.toBe('CRASHED');
    await t.client.stopInstance({ instanceId: id, drainTimeoutMs: 100 });
  });

  it('started nothing for any refused request', async () => {
    const { instances } = await t.client.listInstances({ chainId: CHAIN });
    expect(instances.map((i) => i.instanceId)).toEqual([BASE, BASE + 1]);
  });

  it('refuses a gateway name another chain is served under', async () => {
    await t.client.programChain(chainProgram(CHAIN, BASE, GW, 'errs'));
    await t.client.createPool({ chainId: CHAIN + 1, chainName: 'second' });
    const r = await refusal(t.client.programChain({ chainId: CHAIN + 1, gateway: { chainName: 'errs', entryStage: 0, gatewayInstanceId: GW + 1 } }));
    expect(r).toEqual({ code: 'ALREADY_EXISTS', message: `gateway.chain_name: chain ${CHAIN} is already served as "errs" on this node` });
    await t.client.deleteChain({ chainId: CHAIN + 1 });
  });

  it('ends a stats stream with a too short interval as INVALID_ARGUMENT', async () => {
    const stream = t.client.streamStats({ intervalMs: 1 });
    const err = await new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/interval_ms/);
  });

  it('survives bytes that are no protobuf, and keeps answering', async () => {
    // As the control plane: the bytes must get past TLS to reach the decoder.
    const raw = new Client(t.ferryd.grpcAddress, channelCredentials(controlPlaneTls, expectServer(['node'])), CHANNEL_OPTIONS);
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x0a]);
    const err = await new Promise<ServiceError | null>((resolve) =>
      raw.makeUnaryRequest('/ferry.node.v1.NodeDaemon/StartInstance', (b: Buffer) => b, (b: Buffer) => b, garbage, new Metadata(), {}, (e) => resolve(e)),
    );
    raw.close();
    expect(err?.code).toBeDefined();
    expect(err?.code).not.toBe(status.OK);
    // Refused by the decoder, not by the transport.
    expect(err?.code).not.toBe(status.UNAVAILABLE);
    const info = await t.client.getNodeInfo();
    expect(info.name).toBe('test-node');
    // The instances are untouched.
    const { instances } = await t.client.listInstances({ chainId: CHAIN });
    expect(instances.map((i) => i.state)).toEqual(['RUNNING', 'RUNNING']);
  });
});
