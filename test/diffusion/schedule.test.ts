import { describe, expect, it } from 'vitest';
import { cosineSchedule, createSchedule } from '../../src/diffusion/schedule.js';
import { RegistryError } from '../../src/util/errors.js';

describe('cosineSchedule', () => {
  const s = cosineSchedule(1000);

  it('matches the values of METHOD §1.2', () => {
    expect(s.alphaBar[5]).toBeCloseTo(0.999679, 6);
    expect(Math.sqrt(1 - (s.alphaBar[5] as number))).toBeCloseTo(0.0179, 4);
    expect(s.alphaBar[4]).toBeCloseTo(0.999745, 6);
    expect(s.alphaBar[0]).toBeCloseTo(0.999959, 6);
    expect(s.alphaBar[99]).toBeCloseTo(0.97209, 5);
  });

  it('matches the reference cosine_beta_schedule computed by PyTorch in float64', () => {
    // /usr/bin/python3 (torch 1.13): cumprod(1 - clip(1 - f[1:]/f[:-1], 0, 0.999)) of diff_util.cosine_beta_schedule.
    const want: [number, number][] = [
      [0, 0.9999587157751783],
      [4, 0.9997450273636281],
      [5, 0.9996794699772708],
      [99, 0.9720927371139693],
      [500, 0.4922851724488027],
      [999, 2.428766907034852e-9],
    ];
    for (const [t, v] of want) expect(Math.abs((s.alphaBar[t] as number) - v)).toBeLessThan(1e-12 + 1e-9 * v);
    expect(s.betas[999]).toBe(0.999); // the clip
  });

  it('is a float64 cumulative product of 1 - beta', () => {
    let prod = 1;
    for (let t = 0; t < 1000; t++) {
      prod *= 1 - (s.betas[t] as number);
      expect(s.alphaBar[t]).toBe(prod);
    }
  });

  it('refuses an unknown schedule name, listing the valid ones', () => {
    expect(() => createSchedule('quadratic', 10)).toThrow(RegistryError);
    expect(() => createSchedule('quadratic', 10)).toThrow(/cosine/);
  });
});
