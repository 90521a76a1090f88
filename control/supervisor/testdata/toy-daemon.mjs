// A stand-in daemon for the supervisor's tests (a real process, not a
// mock): it appends its pid and start time to $TOY_STARTS, starts a
// grandchild (like ferryd's instances) whose pid goes to $TOY_CHILDREN,
// tells the supervisor it is ready, then behaves as $TOY_MODE says:
//   serve          run until SIGTERM, then exit 0
//   crash:MS       exit 3 MS milliseconds after ready
//   fail           exit 1 before ever being ready
//   stubborn       ignore SIGTERM (the supervisor must SIGKILL it)
//   quit           exit 0 by itself right after ready
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

const mode = process.env.TOY_MODE ?? 'serve';
appendFileSync(process.env.TOY_STARTS, `${process.pid} ${Date.now()}\n`);
if (mode === 'fail') {
  console.error('toy: cannot start (as asked)');
  process.exit(1);
}
const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
appendFileSync(process.env.TOY_CHILDREN, `${grandchild.pid}\n`);
process.on('SIGTERM', () => {
  if (mode === 'stubborn') return;
  grandchild.kill();
  process.exit(0);
});
// Ready only once SIGTERM is handled, as the real daemon does.
process.send({ kind: 'ready', admin: '127.0.0.1:1', ferryd: '', gateway: '', peer: '', mode: '' });
if (mode.startsWith('crash:')) setTimeout(() => process.exit(3), Number(mode.slice(6)));
if (mode === 'quit') setTimeout(() => process.exit(0), 20);
setInterval(() => {}, 1000);
