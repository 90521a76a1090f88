/**
 * The baselines' side of the Node pinger: the payload crosses a loopback
 * socket both ways on every round trip (node:net with a 4-byte length
 * prefix, or node:http POSTs on one keep-alive connection).
 */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { check, fill } from './driver.js';
import type { PingClient } from './client.js';

const HOST = '127.0.0.1';

export async function tcpClient(port: number): Promise<PingClient> {
  const sock = net.connect({ host: HOST, port, noDelay: true });
  await once(sock, 'connect');
  let rx = Buffer.alloc(0);
  let got = 0;
  let pending: ((ok: boolean) => void) | undefined;
  sock.on('data', (chunk: Buffer) => {
    // Copy out of the socket as a receiver that keeps the message must.
    if (got + chunk.length > rx.length) return pending?.(false);
    chunk.copy(rx, got);
    got += chunk.length;
    if (got === rx.length && pending) {
      const done = pending;
      pending = undefined;
      done(rx.readUInt32LE(0) === rx.length - 4);
    }
  });
  sock.on('error', () => pending?.(false));
  sock.on('close', () => pending?.(false));

  let payload = Buffer.alloc(0);
  const header = Buffer.alloc(4);
  return {
    begin(size) {
      payload = Buffer.alloc(size);
      fill(payload);
      header.writeUInt32LE(size, 0);
      rx = Buffer.alloc(size + 4);
      return (done) => {
        got = 0;
        pending = done;
        // One writev for header and payload.
        sock.cork();
        sock.write(header);
        sock.write(payload);
        sock.uncork();
      };
    },
    end() {
      return { verified: check(rx.subarray(4)), note: 'payload copied through the socket both ways' };
    },
    close() {
      sock.destroy();
    },
  };
}

export async function httpClient(port: number): Promise<PingClient> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let payload = Buffer.alloc(0);
  let rx = Buffer.alloc(0);
  let sockets = new Set<unknown>();
  return {
    begin(size) {
      payload = Buffer.alloc(size);
      fill(payload);
      rx = Buffer.alloc(size);
      const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };
      return (done) => {
        const req = http.request({ host: HOST, port, method: 'POST', path: '/echo', agent, headers }, (res) => {
          let got = 0;
          let ok = res.statusCode === 200;
          res.on('data', (chunk: Buffer) => {
            if (got + chunk.length > rx.length) ok = false;
            else chunk.copy(rx, got);
            got += chunk.length;
          });
          res.on('end', () => done(ok && got === size));
        });
        req.on('socket', (s) => sockets.add(s));
        req.on('error', () => done(false));
        req.end(payload);
      };
    },
    end() {
      // More than one socket would mean keep-alive failed and connection
      // set-up was timed too.
      const note = `keep-alive POST, ${sockets.size} connection(s)`;
      const verified = sockets.size === 1 && check(rx);
      sockets = new Set();
      return { verified, note };
    },
    close() {
      agent.destroy();
    },
  };
}
