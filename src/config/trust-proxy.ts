/**
 * @module config/trust-proxy
 * TRUST_PROXY's value read: whom the API believes about the client's address — a number of
 * proxy hops in front of it, or the proxies' addresses and CIDR ranges (`client-address` applies
 * it).
 */
import { isIP } from 'node:net';

/** Whom TRUST_PROXY trusts: the nearest `hops` peers, or the peers in `ranges` (addresses and CIDRs). */
export type TrustProxy = { hops: number } | { ranges: string[] };

/** Most proxy hops TRUST_PROXY may name: deeper chains are a misconfiguration, not a topology. */
const MAX_PROXY_HOPS = 10;

/** TRUST_PROXY's value, or what is wrong with it. */
export function parseTrustProxy(value: string | undefined): TrustProxy | undefined | string {
  if (value === undefined || value === '0' || value === 'false') return undefined;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return hops <= MAX_PROXY_HOPS ? { hops } : `at most ${MAX_PROXY_HOPS} hops`;
  }
  const ranges = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const bad = ranges.filter((range) => {
    const [address = '', bits, ...rest] = range.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return true;
    if (bits === undefined) return false;
    return !/^\d+$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128);
  });
  if (ranges.length === 0 || bad.length > 0) {
    return `use a number of proxy hops (1-${MAX_PROXY_HOPS}) or the proxies' addresses and CIDR ranges, comma-separated${bad.length ? `; not an address or range: ${bad.join(', ')}` : ''}`;
  }
  return { ranges };
}
