/**
 * Knative Serving's queue-proxy, in front of one function instance
 * (knative/serving pkg/queue/sharedmain, pkg/queue/breaker.go), as far as
 * the data path goes:
 *  - a breaker: at most containerConcurrency requests in the function at
 *    once, up to 10 x containerConcurrency more waiting in FIFO order, any
 *    beyond that refused at once with 503 "pending request queue full"
 *    (containerConcurrency 0: no breaker);
 *  - a reverse proxy to the function with its own keep-alive pool, as
 *    many idle connections as containerConcurrency (1000 for 0), request
 *    and response streamed through (httputil.ReverseProxy);
 *  - the request counting behind the autoscaler's stats (in and out per
 *    request, a report every second);
 *  - 502 when the function cannot be reached or breaks off.
 * Left out: readiness probes, the admin and metrics servers, tracing,
 * request logs, draining on SIGTERM, the revision timeout (the ingress
 * applies the chain's) and TLS.
 */
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { runChild } from './child.js';
import { listen } from './http-transport.js';

export interface QueueProxyConfig {
  port: number;
  /** The function instance's port. */
  userPort: number;
  containerConcurrency: number;
}

const REPORT_MS = 1000;

function plain(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(message) + 1 });
  res.end(`${message}\n`);
}

runChild<QueueProxyConfig>('queue-proxy', async (config) => {
  const cc = config.containerConcurrency;
  const agent = new Agent({ keepAlive: true, maxFreeSockets: cc > 0 ? cc : 1000 });
  const queueDepth = 10 * cc;
  const waiting: (() => void)[] = [];
  let inFlight = 0;
  // The autoscaler's raw stats (netstats.RequestStats): requests seen and
  // their concurrency, taken each second (reported nowhere: no autoscaler).
  let requests = 0;
  let concurrent = 0;
  const report = { requests: 0, concurrency: 0 };
  setInterval(() => {
    report.requests = requests;
    report.concurrency = concurrent;
    requests = 0;
  }, REPORT_MS).unref();

  const proxy = (req: IncomingMessage, res: ServerResponse, done: () => void) => {
    const up = request(
      { agent, host: '127.0.0.1', port: config.userPort, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on('end', done);
        upRes.on('aborted', () => {
          res.destroy();
          done();
        });
      },
    );
    up.on('error', (err) => {
      plain(res, 502, `error reverse-proxying request: ${err.message}`);
      done();
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.on('error', () => up.destroy()); // the client went away mid-body
    req.pipe(up);
  };

  const admit = (run: () => void) => {
    if (cc <= 0 || inFlight < cc) {
      inFlight++;
      return run();
    }
    waiting.push(() => {
      inFlight++;
      run();
    });
  };
  const release = () => {
    inFlight--;
    waiting.shift()?.();
  };

  await listen(config.port, (req, res) => {
    requests++;
    concurrent++;
    if (cc > 0 && inFlight >= cc && waiting.length >= queueDepth) {
      concurrent--;
      return plain(res, 503, 'pending request queue full');
    }
    let finished = false;
    admit(() =>
      proxy(req, res, () => {
        if (finished) return;
        finished = true;
        concurrent--;
        release();
      }),
    );
  });
});
