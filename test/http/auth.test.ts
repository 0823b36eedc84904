import { describe, expect, it } from 'vitest';
import { checkAdmin } from '../../src/http/auth.js';

const token = 'a-long-admin-token-for-tests';

describe('checkAdmin', () => {
  it('lets a request with the configured token as a Bearer through, whatever the case of the scheme', () => {
    expect(checkAdmin(`Bearer ${token}`, token)).toBeNull();
    expect(checkAdmin(`bearer   ${token}  `, token)).toBeNull();
  });

  it('refuses every admin action while no token is configured, naming the key to set', () => {
    for (const configured of [undefined, '']) {
      const refused = checkAdmin(`Bearer ${token}`, configured);
      expect(refused?.code).toBe('EXH_HTTP_ADMIN_DISABLED');
      expect(refused?.message).toContain('listeners.http.adminToken');
    }
  });

  it('asks for the token when none is given or not as a Bearer (401)', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', `Basic ${token}`, token, `Bearer ${token} extra`]) {
      expect(checkAdmin(header, token)?.code, String(header)).toBe('EXH_HTTP_UNAUTHORIZED');
    }
  });

  it('refuses a wrong token, its prefix and a longer one alike (403)', () => {
    for (const given of ['wrong', token.slice(0, -1), `${token}x`, token.toUpperCase()]) {
      expect(checkAdmin(`Bearer ${given}`, token)?.code, given).toBe('EXH_HTTP_FORBIDDEN');
    }
  });
});
