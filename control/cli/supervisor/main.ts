/**
 * The supervisor `ferry up` runs in the background (PID 1 here is not
 * systemd; see deploy/systemd/ for hosts where it is): it runs the ferry
 * daemon (control/controlplane/main.js) with the arguments it was given and
 * restarts it when it crashes (Restarter). SIGTERM or SIGINT stops the
 * daemon gracefully, then the supervisor. Its logs go where the daemon's do.
 *
 *   node dist/control/cli/supervisor/main.js [daemon args...]
 */
import { createLogger } from '../../log.js';
import { DAEMON, SUPERVISOR_PID_ENV } from '../state.js';
import { Restarter } from './restarter.js';

const log = createLogger({ service: 'ferry', part: 'supervisor' }, 'info', (line) => process.stdout.write(line + '\n'));
const restarter = new Restarter({
  command: process.execPath,
  args: [DAEMON, ...process.argv.slice(2)],
  env: { ...process.env, [SUPERVISOR_PID_ENV]: String(process.pid) },
  log,
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void restarter.stop('SIGTERM'));
restarter.start();
await restarter.done;
log.info('supervisor stopped');
process.exit(0);
