/**
 * A peer ferryd's side of a plain TCP peer link, as its own process, so a
 * test can kill it with SIGKILL in the middle of a frame:
 *
 *   fake-peer.ts HOST:PORT FROM TO
 *
 * dials, says hello as FROM to TO, prints "ready" once TO's hello is back,
 * then writes every stdin line (hex) to the link as it is, and prints
 * "frame TYPE STATUS FLAGS LENGTH PAYLOAD-TAIL" for each frame it receives.
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { DEFAULT_MAX_PAYLOAD, helloFrame } from '../frame.js';
import { FrameReceiver } from '../frame-receiver.js';

const [target, from, to] = process.argv.slice(2);
if (!target || !from || !to) {
  process.stderr.write('usage: fake-peer.ts HOST:PORT FROM TO\n');
  process.exit(2);
}
const at = target.lastIndexOf(':');
const sock = connect({ host: target.slice(0, at), port: Number(target.slice(at + 1)) });
let helloSeen = false;
const receiver = new FrameReceiver(
  {
    land: () => undefined,
    frame: (f) => {
      if (!helloSeen) {
        helloSeen = true;
        process.stdout.write('ready\n');
        return;
      }
      const h = f.header;
      process.stdout.write(`frame ${h.type} ${h.status} ${h.flags} ${h.length} ${f.payload.subarray(-40).toString('utf8').replace(/\s/g, '_')}\n`);
    },
  },
  DEFAULT_MAX_PAYLOAD,
);
sock.on('data', (chunk: Buffer) => receiver.push(chunk));
sock.on('connect', () => sock.write(helloFrame({ from, to })));
sock.on('close', () => {
  process.stdout.write('closed\n');
  process.exit(0);
});
sock.on('error', () => undefined);
createInterface({ input: process.stdin }).on('line', (hex) => sock.write(Buffer.from(hex.trim(), 'hex')));
