/**
 * Loaded into ferry's Node processes by bench:idle --profile (NODE_OPTIONS
 * --import: node refuses --cpu-prof there, and a whole-life profile would
 * be mostly start-up anyway). SIGUSR2 starts V8's CPU profiler; the next
 * SIGUSR2 stops it and writes $FERRY_BENCH_PROFILE_DIR/PID.cpuprofile, so
 * the profile covers exactly the measured window.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.FERRY_BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, res) => {
      if (err) process.stderr.write(`bench:idle profile of ${process.pid} failed: ${err.message}\n`);
      else writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
