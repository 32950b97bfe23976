/** Types of `build-state.mjs` (plain JavaScript: it runs before anything is installed). */
export function buildIsStale(root: string): boolean;
export function recordBuild(root: string, what: string): void;
export function ensureBuilt(root: string): number;
