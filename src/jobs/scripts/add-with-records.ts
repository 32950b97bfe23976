/**
 * @module jobs/scripts/add-with-records
 * New jobs' records and BullMQ's adds in one Redis script: what would otherwise go as our
 * create-records script and then one `addStandardJob` script per job. The script is composed
 * when this module loads, from BullMQ's own shipped `addStandardJob` content (wrapped as a
 * local function, called once per job) and our record writes before it, so a worker that
 * takes a job at once finds its record. Only for BullMQ's standard add (no delay, priority,
 * parent or deduplication): BullMQ picks its script from the job's options, and the caller
 * sends the others the usual way. A batch is one call too (up to 100 jobs, MAX_JOBS_PER_BATCH),
 * where BullMQ's `addBulk` runs one script per job.
 *
 * KEYS and ARGV are BullMQ's, built by BullMQ itself (`job.addJob(client)` on a client that
 * only records the command it is asked to run), followed by ours:
 * - KEYS[1..9] BullMQ's `addStandardJob` keys (wait, paused, meta, id, completed, delayed,
 *   active, events, marker); KEYS[10] our unfinished set; KEYS[10 + i] the i-th job's record
 * - ARGV[1 .. 2n] the records, two arguments each (`recordArgs` in `create-records`);
 *   ARGV[2n + 3i - 2 .. 2n + 3i] the i-th job's three BullMQ arguments (packed args, data,
 *   packed options)
 *
 * Output: BullMQ's answer for each job, in order (its id, or a negative error code).
 *
 * Tied to BullMQ's internals in three places, each checked by test/add-with-records.test.ts
 * against the exactly pinned version: the shipped script's module path and content (hashed),
 * its keys and arguments (9 and 3, in that order), and the command `addStandardJob:<version>`
 * that `job.addJob` asks its client to run, built before anything is awaited.
 */
import { createRequire } from 'node:module';
import { recordWritesLua } from './create-records.js';

interface ShippedScript {
  name: string;
  content: string;
  keys: number;
}

const require = createRequire(import.meta.url);
/** BullMQ's standard add, as it ships it (the `main` of the package is its CommonJS build). */
export const bullAddStandardJob = (
  require('bullmq/dist/cjs/scripts/addStandardJob-9.js') as { addStandardJob: ShippedScript }
).addStandardJob;
export const bullVersion = (require('bullmq/dist/cjs/version.js') as { version: string }).version;
/** The command BullMQ asks its client to run for a standard add. */
export const bullStandardAdd = `${bullAddStandardJob.name}:${bullVersion}`;

/** BullMQ's keys and arguments per standard add. */
export const BULL_KEYS = 9;
export const BULL_ARGS = 3;

/** Where our keys start: BullMQ's come first, so its part reads KEYS and ARGV as it ships. */
const UNFINISHED_AT = BULL_KEYS + 1;

export const addWithRecordsLua = `
local function addStandardJob(KEYS, ARGV)
${bullAddStandardJob.content}
end
${recordWritesLua(UNFINISHED_AT)}
local bullKeys = {${Array.from({ length: BULL_KEYS }, (_, i) => `KEYS[${i + 1}]`).join(', ')}}
local n = #KEYS - ${UNFINISHED_AT}
local added = {}
for i = 1, n do
  local at = 2 * n + ${BULL_ARGS} * (i - 1)
  added[i] = addStandardJob(bullKeys, {${Array.from({ length: BULL_ARGS }, (_, i) => `ARGV[at + ${i + 1}]`).join(', ')}})
end
return added
`;
