/**
 * Baseline `grpc`: gRPC microservices. Every hop a unary call (grpc-js,
 * HTTP/2, a channel per instance) carrying the payload as raw bytes; the
 * ingress turns POST /chains/NAME into a call to the entry stage, and each
 * stage calls its next and relays the answer back.
 */
import { baselineSystem, type BaselineSystem } from './baseline.js';
import { chainLayout } from './layout.js';

export const grpcSystem: BaselineSystem = baselineSystem('grpc', chainLayout({ transport: 'grpc' }));
