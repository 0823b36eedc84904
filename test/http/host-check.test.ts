import { describe, expect, it } from 'vitest';
import { hostAllowed } from '../../src/http/host-check.js';

describe('hostAllowed', () => {
  it('allows IP addresses, localhost and its subdomains, with or without a port', () => {
    for (const host of ['127.0.0.1', '127.0.0.1:8080', '[::1]:8080', '[::1]', '10.1.2.3:80', 'localhost:8080']) {
      expect(hostAllowed(host, []), host).toBe(true);
    }
    expect(hostAllowed('dashboard.localhost', [])).toBe(true);
    expect(hostAllowed('LOCALHOST', [])).toBe(true);
  });

  it('refuses any other name unless listeners.http.allowedHosts lists it (case-blind, a trailing dot too)', () => {
    expect(hostAllowed('evil.example', [])).toBe(false);
    expect(hostAllowed('evil.example:8080', ['exh.contoso.com'])).toBe(false);
    expect(hostAllowed('localhost.evil.example', [])).toBe(false);
    expect(hostAllowed('Exh.Contoso.com:8080', ['exh.contoso.com'])).toBe(true);
    expect(hostAllowed('exh.contoso.com.', ['exh.contoso.com'])).toBe(true);
    expect(hostAllowed('anything.example', ['*'])).toBe(true);
  });

  it('refuses a Host that is not a host name at all', () => {
    for (const host of ['evil.example/path', 'user@127.0.0.1', '127.0.0.1 evil', '[zz::1]:80', ':8080']) {
      expect(hostAllowed(host, []), host).toBe(false);
    }
  });

  it('allows a request without Host (no browser sends one)', () => {
    expect(hostAllowed(undefined, [])).toBe(true);
  });
});
