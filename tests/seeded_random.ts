/**
 * @module
 * Seeded randomness for tests whose inputs or schedule are random (fuzzing,
 * soak, chaos): every random choice comes from one seed, which a failure
 * prints and `TEST_SEED=<n>` sets, so the same inputs and choices come again.
 * (pure-rand's Mersenne Twister, which mixes small seeds well; a test against a
 * live server replays its choices, not the exact interleaving of the server's work.)
 */
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { mersenne } from "pure-rand/generator/mersenne";

/** The environment variable that sets the seed. */
export const SEED_VARIABLE = "TEST_SEED";

/** `TEST_SEED` when set, else `fallback` (default: a new random seed for each run). */
export function testSeed(fallback?: number): number {
  const given = Deno.env.get(SEED_VARIABLE);
  if (given !== undefined && given !== "") {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`${SEED_VARIABLE} must be an integer`);
    return seed;
  }
  return fallback ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** Numbers in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  const generator = mersenne(seed);
  return () => uniformFloat64(generator);
}

/**
 * Runs `test` with numbers from `seed` + `stream` (several tests of one file
 * draw from one seed, each its own stream, default 0); when it fails, says which
 * seed to replay it with (`TEST_SEED=<seed> deno test -A <file>`).
 */
export async function withSeed<T>(
  seed: number,
  test: (random: () => number) => Promise<T>,
  stream = 0,
): Promise<T> {
  try {
    return await test(seededRandom(seed + stream));
  } catch (error) {
    console.error(`Failed with seed ${seed}: replay with ${SEED_VARIABLE}=${seed}`);
    throw error;
  }
}
