import { describe, expect, it } from 'vitest';
import { HoltForecast } from './forecast.js';

describe('HoltForecast', () => {
  it('extrapolates a linear ramp once it has locked on', () => {
    const h = new HoltForecast(0.5, 0.3);
    for (let t = 0; t <= 60; t++) h.update(t * 1000, 100 + 10 * t);
    expect(h.slopePerSec).toBeCloseTo(10, 1);
    expect(h.forecast(5000)).toBeCloseTo(100 + 10 * 65, -1);
  });

  it('follows a flat series without inventing a trend, and never forecasts below zero', () => {
    const h = new HoltForecast(0.5, 0.3);
    for (let t = 0; t < 30; t++) h.update(t * 1000, 50);
    expect(h.current).toBeCloseTo(50, 6);
    expect(h.forecast(10_000)).toBeCloseTo(50, 6);
    for (let t = 30; t < 40; t++) h.update(t * 1000, 0);
    expect(h.forecast(60_000)).toBe(0);
  });

  it('ignores a sample that does not move the clock forward', () => {
    const h = new HoltForecast(0.5, 0.3);
    h.update(1000, 10);
    h.update(1000, 1000);
    expect(h.current).toBe(10);
  });
});
