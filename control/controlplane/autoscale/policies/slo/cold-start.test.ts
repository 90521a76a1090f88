import { describe, expect, it } from 'vitest';
import { ColdStarts } from './cold-start.js';

describe('ColdStarts', () => {
  it('starts from the prior and learns from asks that become ready', () => {
    const c = new ColdStarts(1000);
    c.update(0, 1, 1);
    expect(c.estimateMs()).toBe(1000);
    c.update(1000, 3, 1); // two asked
    c.update(2000, 3, 2); // one ready after 1 s
    c.update(4000, 3, 3); // the other after 3 s
    expect(c.estimateMs()).toBe(3000);
  });

  it('forgets asks withdrawn before they were ready', () => {
    const c = new ColdStarts(100);
    c.update(0, 1, 1);
    c.update(1000, 2, 1);
    c.update(2000, 1, 1); // asked down again
    c.update(9000, 2, 1);
    c.update(9500, 2, 2);
    expect(c.estimateMs()).toBe(500);
  });

  it('takes an ask and its readiness seen in one sample as no news, and never goes below the prior', () => {
    const c = new ColdStarts(400);
    c.update(0, 1, 1);
    c.update(1000, 2, 2);
    expect(c.estimateMs()).toBe(400);
    c.update(2000, 3, 2);
    c.update(3000, 3, 3);
    expect(c.estimateMs()).toBe(1000);
  });
});
