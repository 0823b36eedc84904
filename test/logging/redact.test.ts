import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../src/logging/redact.js';

describe('redactSecrets', () => {
  it('replaces every secret key at any depth and in arrays, the key compared without case', () => {
    const record = {
      config: {
        exchange: { ImpersonationPassword: 'p1', oauthToken: 'p2' },
        listeners: { http: { adminToken: 'p3' } },
      },
      request: { headers: { Authorization: 'Basic p4' } },
      users: [{ user: 'a@x.test', PWD: 'p5' }, 'plain'],
      token: 'p6',
    };
    expect(redactSecrets(record)).toEqual({
      config: {
        exchange: { ImpersonationPassword: '***', oauthToken: '***' },
        listeners: { http: { adminToken: '***' } },
      },
      request: { headers: { Authorization: '***' } },
      users: [{ user: 'a@x.test', PWD: '***' }, 'plain'],
      token: '***',
    });
  });

  it("hides Graph's secrets: the app's clientSecret and a subscription's clientState", () => {
    expect(
      redactSecrets({
        exchange: { graph: { clientId: 'app', clientSecret: 's1' } },
        body: { resource: 'users/a@x.test/events', clientState: 's2' },
      }),
    ).toEqual({
      exchange: { graph: { clientId: 'app', clientSecret: '***' } },
      body: { resource: 'users/a@x.test/events', clientState: '***' },
    });
  });

  it('masks only the password of a connection string, so host and database stay readable', () => {
    expect(
      redactSecrets({
        database: { connectionString: 'postgres://exh:s3cret@db.contoso.test:5432/app' },
        sqlserver: { ConnectionString: 'Server=sql1;Database=app;User Id=exh;Password=s3cret' },
      }),
    ).toEqual({
      database: { connectionString: 'postgres://exh:***@db.contoso.test:5432/app' },
      sqlserver: { ConnectionString: 'Server=sql1;Database=app;User Id=exh;Password=***' },
    });
    // Not a string: nothing to read, all of it hidden.
    expect(redactSecrets({ connectionString: { host: 'db', password: 'x' } })).toEqual({ connectionString: '***' });
  });

  it('changes nothing it is given: secrets go into a copy, and a record without any is returned as it is', () => {
    const clean = { user: 'a@x.test', nested: { count: 3, when: new Date(0) }, list: [1, 2] };
    expect(redactSecrets(clean)).toBe(clean);
    const dirty = { keep: { same: true }, inner: { password: 'p' } };
    const redacted = redactSecrets(dirty);
    expect(dirty.inner.password).toBe('p');
    expect(redacted.inner.password).toBe('***');
    // What holds no secret is shared, not copied.
    expect(redacted.keep).toBe(dirty.keep);
  });

  it('leaves an absent secret absent rather than claiming one was there', () => {
    expect(redactSecrets({ password: null, token: undefined })).toEqual({ password: null, token: undefined });
  });

  it('keeps dates, and stops at a depth no log record reaches instead of following a cycle for ever', () => {
    const when = new Date('2026-03-01T08:00:00Z');
    expect(redactSecrets({ when }).when).toBe(when);
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    expect(() => redactSecrets(cycle)).not.toThrow();
  });
});
