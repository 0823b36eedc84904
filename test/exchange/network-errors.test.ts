import { describe, expect, it } from 'vitest';
import { fromNetworkError } from '../../src/exchange/network-errors.js';

const url = 'https://outlook.office365.com/EWS/Exchange.asmx';
const failure = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('fromNetworkError (every backend)', () => {
  it('names the host DNS cannot resolve and the one that refused, retryable', () => {
    const dns = fromNetworkError(failure('ENOTFOUND'), { url });
    expect(dns).toMatchObject({ code: 'EXH_EXCHANGE_UNAVAILABLE', retryable: true });
    expect(dns.message).toContain('DNS cannot resolve outlook.office365.com (ENOTFOUND)');
    const refused = fromNetworkError(failure('ECONNREFUSED'), { url: 'http://127.0.0.1:8200/graph/v1.0' });
    expect(refused.message).toContain('127.0.0.1:8200 refused the connection');
  });

  it('tells a certificate problem apart from an unreachable server', () => {
    for (const code of [
      'CERT_HAS_EXPIRED',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ]) {
      expect(fromNetworkError(failure(code), { url }).code, code).toBe('EXH_EXCHANGE_TLS');
    }
    expect(fromNetworkError(failure('ECONNRESET'), { url }).code).toBe('EXH_EXCHANGE_UNAVAILABLE');
  });
});
