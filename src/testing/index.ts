/** The testing toolkit: a seeded PRNG, the deterministic cluster simulator, a linearizability checker. */
export * from './random.ts';
export * from './sim/index.ts';
export * from './linearizability.ts';
export * from './kv-model.ts';
