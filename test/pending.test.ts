/**
 * `allOf` (jobs/pending) waits as `Promise.all` does for the promises that are there: one is
 * handed back as it is, none settles at once, and a rejection of any is the answer.
 */
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/jobs/pending.js';

describe('allOf', () => {
  it('hands back the one promise there is, whatever stands beside it', () => {
    const only = Promise.resolve('written');
    expect(allOf([undefined, only, undefined])).toBe(only);
  });

  it('settles at once when there is nothing to wait for', async () => {
    await expect(allOf([])).resolves.toBeUndefined();
    await expect(allOf([undefined, undefined])).resolves.toBeUndefined();
  });

  it('waits for every promise there is, as Promise.all does', async () => {
    let late = false;
    const slow = new Promise((resolve) =>
      setTimeout(() => {
        late = true;
        resolve(late);
      }, 20),
    );
    await expect(allOf([Promise.resolve(1), undefined, slow])).resolves.toEqual([1, true]);
    expect(late).toBe(true);
  });

  it('rejects with the first rejection, of one promise or of several', async () => {
    const failed = new Error('script failed');
    await expect(allOf([Promise.reject(failed), undefined])).rejects.toBe(failed);
    await expect(allOf([new Promise(() => {}), Promise.reject(failed)])).rejects.toBe(failed);
  });
});
