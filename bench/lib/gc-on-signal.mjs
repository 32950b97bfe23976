/**
 * Bench-only preload (`node --expose-gc --import ./bench/lib/gc-on-signal.mjs …`), given to the
 * jobcast API and the bare server alike: on SIGUSR2 the process runs full garbage collections,
 * so that resident memory can be read without the garbage a collection would free anyway.
 * Production code is not touched.
 */
process.on('SIGUSR2', () => {
  // Twice: the first collection can leave objects that only die once their finalizers ran.
  globalThis.gc?.();
  setTimeout(() => globalThis.gc?.(), 50);
});
