/**
 * @module webhooks/addresses
 * Which IP addresses are not the public internet, for the webhook URL policy: a webhook must
 * not become a way into the service's own network (server-side request forgery).
 *
 * @example
 * isPrivateAddress('169.254.169.254') // true: link-local, where cloud metadata services live
 * isPrivateAddress('::ffff:10.0.0.1') // true: IPv4-mapped, checked as IPv4
 */
import { BlockList, isIP } from 'node:net';

/**
 * Addresses that are not the public internet: IANA's special-purpose registries (RFC 6890 and
 * successors), which cover loopback, private networks, carrier-grade NAT, link-local (cloud
 * metadata services live at 169.254.169.254), documentation, benchmarking, multicast and
 * reserved space. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are checked as IPv4 by
 * BlockList; NAT64 and 6to4 addresses are checked by the IPv4 address they embed.
 */
const SPECIAL_PURPOSE: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.88.99.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'],
  ['100::', 64, 'ipv6'],
  ['2001::', 32, 'ipv6'],
  ['2001:2::', 48, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fec0::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

const specialPurpose = new BlockList();
for (const [network, prefix, type] of SPECIAL_PURPOSE) specialPurpose.addSubnet(network, prefix, type);

/** True for an address outside the public internet (see SPECIAL_PURPOSE). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return specialPurpose.check(address, 'ipv4');
  if (family !== 6) return true;
  if (specialPurpose.check(address, 'ipv6')) return true;
  const embedded = embeddedIpv4(address);
  return embedded !== undefined && specialPurpose.check(embedded, 'ipv4');
}

/** The IPv4 address inside a NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) address. */
function embeddedIpv4(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (!groups) return undefined;
  const quad = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) {
    return quad(groups[6] as number, groups[7] as number);
  }
  if (groups[0] === 0x2002) return quad(groups[1] as number, groups[2] as number);
  return undefined;
}

/** An IPv6 address as its eight 16-bit groups (a dotted IPv4 tail included). */
function expandIpv6(address: string): number[] | undefined {
  let text = address.split('%')[0] as string;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = (dotted[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...left, ...new Array<number>(missing).fill(0), ...right];
}
