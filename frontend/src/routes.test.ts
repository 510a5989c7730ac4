import { describe, expect, it } from 'vitest';
import { routeOf } from './routes';

describe('routeOf', () => {
  it('maps hashes to views, home for anything else', () => {
    expect(routeOf('#/client')).toBe('client');
    expect(routeOf('#/employee')).toBe('employee');
    expect(routeOf('#/operations')).toBe('operations');
    expect(routeOf('#client')).toBe('client');
    expect(routeOf('#/employee?x=1')).toBe('employee');
    expect(routeOf('')).toBe('home');
    expect(routeOf('#/nowhere')).toBe('home');
    expect(routeOf('#/home')).toBe('home');
  });
});
