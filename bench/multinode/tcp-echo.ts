/**
 * The raw TCP round trip bench:multinode compares the peer link with: one
 * plain TCP connection over the same veth, the payload sent and echoed
 * back whole. Run inside a namespace (nsenter), in one of two roles:
 *
 *   tcp-echo.ts serve PORT        echo every byte back; prints "ready" once listening
 *   tcp-echo.ts ping HOST:PORT    per line "SIZE" on stdin: one round trip of
 *                                 SIZE bytes; prints the microseconds it took
 *
 * The pinger is driven line by line so the bench can interleave its round
 * trips with chain requests (side by side in one run, not one after the other).
 */
import { createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';

function serve(port: number): void {
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.pipe(s);
    s.on('error', () => s.destroy());
  });
  server.listen(port, '0.0.0.0', () => process.stdout.write('ready\n'));
}

function ping(target: string): void {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sock = createConnection({ host, port });
  sock.setNoDelay(true);
  sock.on('error', (err) => {
    process.stderr.write(`tcp-echo ping: ${err.message}\n`);
    process.exit(1);
  });
  let want = 0;
  let got = 0;
  let started = 0n;
  const payloads = new Map<number, Buffer>();
  sock.on('data', (chunk: Buffer) => {
    got += chunk.length;
    if (want === 0 || got < want) return;
    const us = Number(process.hrtime.bigint() - started) / 1000;
    want = 0;
    process.stdout.write(`${us.toFixed(1)}\n`);
  });
  sock.once('connect', () => {
    process.stdout.write('ready\n');
    createInterface({ input: process.stdin }).on('line', (line) => {
      const size = Number(line);
      if (!Number.isInteger(size) || size <= 0) return void process.stdout.write('NaN\n');
      let p = payloads.get(size);
      if (!p) payloads.set(size, (p = Buffer.alloc(size, 0x61)));
      want = size;
      got = 0;
      started = process.hrtime.bigint();
      sock.write(p);
    });
  });
}

const [role, arg] = process.argv.slice(2);
if (role === 'serve' && arg) serve(Number(arg));
else if (role === 'ping' && arg) ping(arg);
else {
  process.stderr.write('usage: tcp-echo.ts serve PORT | ping HOST:PORT\n');
  process.exit(2);
}
