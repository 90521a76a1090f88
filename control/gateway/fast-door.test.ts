/**
 * Which URLs the fast door takes: plain names only; everything else must
 * reach Fastify, which decodes and refuses as it always did.
 */
import { describe, expect, it } from 'vitest';
import { fastRoute } from './fast-door.js';

describe('fastRoute', () => {
  it('takes plain chain URLs, with and without a tenant', () => {
    expect(fastRoute('/chains/online-boutique')).toEqual(['online-boutique', 'default']);
    expect(fastRoute('/tenants/acme/chains/motion.v2')).toEqual(['motion.v2', 'acme']);
  });

  it('passes on everything Fastify must decode or refuse', () => {
    for (const url of ['/chains/ech%6F', '/chains/echo?x=1', '/chains/echo/', '/chains/', '/chains//echo', '/tenants//chains/x', `/chains/${'a'.repeat(257)}`, '/chains/a b', '/healthz', '/chains'])
      expect(fastRoute(url), url).toBeUndefined();
  });
});
