import { describe, expect, it } from 'vitest';
import { defaultRequestTimeoutMs, requestDeadline } from '../../src/http/request-deadline.js';

describe('requestDeadline', () => {
  it('gives the request, its headers and node’s own request time-out the same deadline, 30 s unless configured', () => {
    expect(defaultRequestTimeoutMs).toBe(30_000);
    expect(requestDeadline()).toEqual({
      requestTimeout: 30_000,
      http: { headersTimeout: 30_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 },
    });
  });

  it('checks deadlines every second, or as often as the deadline itself when it is shorter', () => {
    expect(requestDeadline(5_000).http.connectionsCheckingInterval).toBe(1_000);
    expect(requestDeadline(250)).toEqual({
      requestTimeout: 250,
      http: { headersTimeout: 250, requestTimeout: 250, connectionsCheckingInterval: 250 },
    });
  });
});
