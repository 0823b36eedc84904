export type Timer = (operation: string, outcome: 'ok' | 'error', seconds: number) => void;
export type AfterSuccess = (operation: string, args: unknown[], result: unknown) => void;

/** A Proxy whose methods returning promises are timed; `after` sees each successful call. */
export function timed<T extends object>(target: T, timer: Timer, after: AfterSuccess = () => {}): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const cached = wrapped.get(property);
      if (cached) return cached;
      const method = (...args: unknown[]) => {
        const started = performance.now();
        const result: unknown = value.apply(object, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (resolved: unknown) => {
            timer(property, 'ok', (performance.now() - started) / 1000);
            after(property, args, resolved);
            return resolved;
          },
          (error: unknown) => {
            timer(property, 'error', (performance.now() - started) / 1000);
            throw error;
          },
        );
      };
      wrapped.set(property, method);
      return method;
    },
  });
}
