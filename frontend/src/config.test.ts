import { describe, expect, it } from 'vitest';
import { resolveEndpoint, type EndpointSources } from './config';

const none: EndpointSources = {
  development: true,
  search: '',
  remembered: null,
  runtime: undefined,
  buildTime: undefined,
  origin: 'http://127.0.0.1:8181',
};

describe('resolveEndpoint in a development build', () => {
  it('uses /graphql on the own origin by default, with /graphql/ws for subscriptions', () => {
    expect(resolveEndpoint(none)).toEqual({
      endpoint: { http: 'http://127.0.0.1:8181/graphql', ws: 'ws://127.0.0.1:8181/graphql/ws' },
      remember: undefined,
    });
  });

  it('prefers the address, then what was remembered, then config.js, then the build', () => {
    const all = {
      ...none,
      search: '?endpoint=http://a:1/graphql',
      remembered: 'http://b:2/graphql',
      runtime: 'http://c:3/graphql',
      buildTime: 'http://d:4/graphql',
    };
    expect(resolveEndpoint(all).endpoint.http).toBe('http://a:1/graphql');
    expect(resolveEndpoint({ ...all, search: '' }).endpoint.http).toBe('http://b:2/graphql');
    expect(resolveEndpoint({ ...all, search: '', remembered: null }).endpoint.http).toBe(
      'http://c:3/graphql',
    );
    expect(
      resolveEndpoint({ ...all, search: '', remembered: null, runtime: ' ' }).endpoint.http,
    ).toBe('http://d:4/graphql');
  });

  it('remembers an endpoint from the address, and forgets it for an empty one', () => {
    expect(resolveEndpoint({ ...none, search: '?endpoint=http://a:1/graphql' }).remember).toBe(
      'http://a:1/graphql',
    );
    const forgotten = resolveEndpoint({ ...none, search: '?endpoint=', remembered: 'http://b/x' });
    expect(forgotten.remember).toBeNull();
    expect(forgotten.endpoint.http).toBe('http://127.0.0.1:8181/graphql');
  });

  it('uses wss for https endpoints', () => {
    const resolved = resolveEndpoint({ ...none, runtime: 'https://bank.example.com/api/graphql/' });
    expect(resolved.endpoint.ws).toBe('wss://bank.example.com/api/graphql/ws');
  });
});

describe('resolveEndpoint in a production build', () => {
  const production = { ...none, development: false };

  it('ignores an endpoint in the address, and forgets any remembered one', () => {
    const crafted = resolveEndpoint({
      ...production,
      search: '?endpoint=http://127.0.0.1:9/graphql',
      remembered: 'http://evil.example/graphql',
    });
    expect(crafted).toEqual({
      endpoint: { http: 'http://127.0.0.1:8181/graphql', ws: 'ws://127.0.0.1:8181/graphql/ws' },
      remember: null,
    });
  });

  it('still takes config.js, then the build', () => {
    const configured = {
      ...production,
      search: '?endpoint=http://a:1/graphql',
      runtime: 'https://bank.example.com/graphql',
      buildTime: 'http://d:4/graphql',
    };
    expect(resolveEndpoint(configured).endpoint.http).toBe('https://bank.example.com/graphql');
    expect(resolveEndpoint({ ...configured, runtime: undefined }).endpoint.http).toBe(
      'http://d:4/graphql',
    );
  });
});
