/**
 * Baseline `http`: microservices calling each other over HTTP/1.1 with
 * keep-alive. An ingress (node:http) in front, every function instance its
 * own process with a node:http server, each hop a keep-alive POST of the
 * payload; the ingress calls the entry stage, each stage calls its next
 * with its output and relays the answer back (nested synchronous calls).
 */
import { baselineSystem, type BaselineSystem } from './baseline.js';
import { chainLayout } from './layout.js';

export const httpSystem: BaselineSystem = baselineSystem('http', chainLayout({ transport: 'http' }));
