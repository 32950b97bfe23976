/**
 * @module limits/scripts/claim-slot
 * Claims a stream slot for a client: drops the expired ones, refuses when the rest fill the
 * limit, else adds the new one. A slot is a sorted-set member scored by its expiry; each API
 * replica renews its own slots, so a replica that dies frees its slots within one lease.
 *
 * Input:
 * - KEYS[1] the client's slots (sorted set: member → expiry in ms)
 * - ARGV[1] now (ms): slots that expired by then are dropped
 * - ARGV[2] the most slots a client may hold
 * - ARGV[3] the new slot's expiry (ms)
 * - ARGV[4] the new slot's member (replica and counter: unique)
 * - ARGV[5] how long the set outlives its last claim (ms)
 *
 * Output ({@link SlotClaim}):
 * - 1: claimed
 * - 0: the client holds the most slots already; nothing changed but expired slots dropped
 */
import type { LuaScript } from '../../jobs/script-runner.js';

/** What the `claim-slot` script answers. */
export const SlotClaim = {
  /** Every slot of the client is taken. */
  FULL: 0,
  /** The slot is the client's now. */
  CLAIMED: 1,
} as const;

export interface ClaimSlotInput {
  /** The client's slots (the sorted set). */
  slots: string;
  now: number;
  max: number;
  expiresAt: number;
  member: string;
  /** The set's own expiry, renewed by every claim. */
  keepMs: number;
}

export const claimSlotLua = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

export const claimSlotScript: LuaScript<ClaimSlotInput, number> = {
  name: 'jobcastClaimSlot',
  lua: claimSlotLua,
  call: ({ slots, now, max, expiresAt, member, keepMs }) => ({
    keys: [slots],
    args: [now, max, expiresAt, member, keepMs],
  }),
};
