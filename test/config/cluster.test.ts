import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';

const base = {
  database: { type: 'pglite' },
  exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'pw' },
};
const token = { database: { token: 'a-shared-token-of-16+' } };

function problems(input: unknown): string[] {
  const result = configSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('cluster configuration', () => {
  it('is absent unless configured: a single instance is unchanged', () => {
    expect(configSchema.parse(base).cluster).toBeUndefined();
  });

  it('has its defaults when present', () => {
    const config = configSchema.parse({ ...base, cluster: {}, listeners: token });
    expect(config.cluster).toEqual({ leaseSeconds: 20, heartbeatSeconds: 5 });
  });

  it('needs a listener token shared by every instance', () => {
    expect(problems({ ...base, cluster: {} })).toEqual([
      expect.stringMatching(
        /^listeners\.database\.token: required when cluster is configured: every instance must use the same listener token/,
      ),
    ]);
  });

  it('refuses a heartbeat too long for the lease, naming the key and the fix', () => {
    expect(problems({ ...base, listeners: token, cluster: { leaseSeconds: 10, heartbeatSeconds: 5 } })).toEqual([
      expect.stringMatching(
        /^cluster\.heartbeatSeconds: too long for the lease: .*lower heartbeatSeconds or raise leaseSeconds/,
      ),
    ]);
    expect(problems({ ...base, listeners: token, cluster: { leaseSeconds: 11, heartbeatSeconds: 5 } })).toEqual([]);
  });

  it('refuses unknown keys', () => {
    expect(problems({ ...base, listeners: token, cluster: { lease: 5 } })).toHaveLength(1);
  });
});
