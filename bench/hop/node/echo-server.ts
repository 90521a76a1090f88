/**
 * Node echo server of the tcp-loopback and http baselines.
 *
 *   echo-server.js tcp|http   listens on 127.0.0.1 (ephemeral port), prints
 *                             the port on stdout, runs until killed.
 *
 * Every message is read completely (copied out of the socket) before it is
 * answered, as a function needs its whole input.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** 4-byte little-endian length, then the payload; answered the same way. */
function tcpServer(): net.Server {
  return net.createServer({ noDelay: true }, (sock) => {
    const header = Buffer.alloc(4);
    let headerGot = 0;
    let body: Buffer | undefined;
    let bodyGot = 0;
    const reply = () => {
      sock.cork();
      sock.write(Buffer.from(header));
      sock.write(body!);
      sock.uncork();
      body = undefined;
      headerGot = 0;
      bodyGot = 0;
    };
    sock.on('data', (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length) {
        if (!body) {
          const n = Math.min(4 - headerGot, chunk.length - at);
          chunk.copy(header, headerGot, at, at + n);
          headerGot += n;
          at += n;
          if (headerGot === 4) {
            body = Buffer.allocUnsafe(header.readUInt32LE(0));
            if (body.length === 0) reply();
          }
          continue;
        }
        const n = Math.min(body.length - bodyGot, chunk.length - at);
        chunk.copy(body, bodyGot, at, at + n);
        bodyGot += n;
        at += n;
        if (bodyGot === body.length) reply();
      }
    });
    sock.on('error', () => sock.destroy());
  });
}

function httpServer(): http.Server {
  const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
    const body = Buffer.allocUnsafe(Number(req.headers['content-length'] ?? 0));
    let got = 0;
    req.on('data', (chunk: Buffer) => {
      chunk.copy(body, got);
      got += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(got) });
      res.end(body.subarray(0, got));
    });
  });
  return server;
}

const kind = process.argv[2];
if (kind !== 'tcp' && kind !== 'http') {
  process.stderr.write('usage: echo-server tcp|http\n');
  process.exit(2);
}
const server = kind === 'tcp' ? tcpServer() : httpServer();
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
