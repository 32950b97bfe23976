/**
 * @module client-address
 * Who is at the other end of a request: the socket's peer, or, behind proxies the operator
 * trusts (`TRUST_PROXY`), the address the nearest untrusted hop connected from, as those
 * proxies recorded it in `X-Forwarded-For` or `Forwarded` (`TRUST_PROXY_HEADER`). The address
 * is what limits count open clients and submissions by, and what the access log shows.
 *
 * Only entries that trusted proxies appended are believed: a proxy appends the address it saw
 * to whatever the client sent, so the chain is read from the right, and everything left of the
 * first untrusted hop is the client's own say (which anyone can forge).
 *
 * @example
 * const addresses = new ClientAddresses({ hops: 1 }, 'x-forwarded-for');
 * addresses.resolve('10.0.0.5', '203.0.113.7, 198.51.100.2') // '198.51.100.2'
 */
import { BlockList, isIP } from 'node:net';
import type { TrustProxy } from './config.js';

export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

export class ClientAddresses {
  readonly #trust: TrustProxy | undefined;
  readonly #trusted: BlockList | undefined;
  /** The header to read, or undefined when no proxy is trusted (it is then never read). */
  readonly header: ForwardedHeader | undefined;

  constructor(trust: TrustProxy | undefined, header: ForwardedHeader = 'x-forwarded-for') {
    this.#trust = trust;
    this.header = trust ? header : undefined;
    if (trust && 'ranges' in trust) {
      const list = new BlockList();
      for (const range of trust.ranges) {
        const [address = '', bits] = range.split('/');
        const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
        if (bits === undefined) list.addAddress(address, family);
        else list.addSubnet(address, Number(bits), family);
      }
      this.#trusted = list;
    }
  }

  /**
   * The client's address, from the socket's `peer` and the forwarded header's value (both as
   * received). A forwarded entry that is not an address (`unknown`, an obfuscated name) ends
   * the walk at the trusted hop before it.
   */
  resolve(peer: string | undefined, forwarded: string | undefined): string {
    const socket = normalize(peer ?? '') ?? 'unknown';
    const trust = this.#trust;
    if (!trust || !forwarded) return socket;
    // Nearest first: the socket's peer, then the header's entries from the right.
    const entries = (this.header === 'forwarded' ? forwardedFor(forwarded) : forwarded.split(',')).reverse();
    let client = socket;
    for (let hop = 0; hop < entries.length; hop++) {
      if (!this.#trusts(client, hop)) break;
      const next = normalize(entries[hop] as string);
      if (next === undefined) break;
      client = next;
    }
    return client;
  }

  /** Whether `address`, `hop` hops from the server (0 = the socket's peer), is a trusted proxy. */
  #trusts(address: string, hop: number): boolean {
    const trust = this.#trust;
    if (!trust) return false;
    if ('hops' in trust) return hop < trust.hops;
    return this.#trusted?.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4') ?? false;
  }
}

/**
 * What limits count a client by: its address, or for IPv6 its /64 network — one subscriber
 * line usually gets a whole /64, and could otherwise take a fresh address for every request.
 */
export function limitKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

/**
 * An address as text: trimmed, port and brackets taken off, IPv4-mapped IPv6 shown as IPv4;
 * undefined when it is not an IP address.
 */
function normalize(raw: string): string | undefined {
  let text = raw.trim().replace(/^"|"$/g, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1] as string;
  else if (/^[\d.]+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  if (mapped) text = mapped[1] as string;
  return isIP(text) === 0 ? undefined : text.toLowerCase();
}

/** The `for=` values of a `Forwarded` header (RFC 7239), in order; elements without one count as unknown. */
function forwardedFor(header: string): string[] {
  return header.split(',').map((element) => {
    for (const pair of element.split(';')) {
      const cut = pair.indexOf('=');
      if (cut > 0 && pair.slice(0, cut).trim().toLowerCase() === 'for') return pair.slice(cut + 1);
    }
    return 'unknown';
  });
}

/** The eight 16-bit groups of an IPv6 address (hex, no leading zeros), or undefined. */
function expandIpv6(address: string): string[] | undefined {
  let text = address.toLowerCase();
  // A dotted IPv4 tail is two groups.
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...new Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right];
  return groups.map((group) => Number.parseInt(group, 16).toString(16));
}
