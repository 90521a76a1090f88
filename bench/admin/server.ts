/**
 * The control plane bench:admin calls, in a process of its own (so its CPU
 * is its own): a real control plane and local ferryd with `--chains` copies
 * of the greet chain applied; prints {"admin", "chains", "credentials"} on stdout
 * once ready and runs until SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestControlPlane } from '../../test/helpers/control-plane.js';
import { repoRoot } from '../../control/paths.js';
import { testCredentialDir } from '../../test/helpers/pki.js';

const greetFile = join(repoRoot, 'control/cli/testdata/greet.yaml');

async function main(): Promise<void> {
  const chains = Number(process.argv[2] ?? '10');
  const t = await startTestControlPlane({ test: 'bench-admin' });
  // Small requests, so ten chains fit on a 2-core node.
  const yaml = readFileSync(greetFile, 'utf8').replaceAll('      runtime: node\n', '      runtime: node\n      resources: { cpu: 20m, memoryMb: 48 }\n');
  for (let i = 0; i < chains; i++) await t.admin.call('ApplyChain', { yaml: yaml.replace('metadata: { name: greet }', `metadata: { name: greet-${i} }`), file: greetFile });
  // This process's test CA: the caller needs the operator's credential from it.
  process.stdout.write(JSON.stringify({ admin: t.cp.adminAddress, chains, credentials: await testCredentialDir({ kind: 'operator' }) }) + '\n');
  const stop = () => void t.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
