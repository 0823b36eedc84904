/**
 * The random points of the SIGKILL runs come from a seeded generator, printed with every run: FAULT_SEED=<seed>
 * replays a failing run's delays (the process's own timing still varies, so a replay lands near, not on, the point).
 */
export function seededRandom(name: string): {
  seed: number;
  next: () => number;
  between: (min: number, max: number) => number;
} {
  const fixed = Number(process.env.FAULT_SEED);
  const seed = Number.isInteger(fixed) && process.env.FAULT_SEED ? fixed : Math.floor(Math.random() * 2 ** 31);
  let a = seed >>> 0;
  // mulberry32: small, fast and good enough to spread kill points.
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  console.log(`fault: ${name}: seed ${seed} (FAULT_SEED=${seed} replays it)`);
  return { seed, next, between: (min, max) => Math.round(min + next() * (max - min)) };
}
