/**
 * @module webhooks/url-policy
 * Which webhook URLs jobcast may call. A webhook makes the service send requests where a
 * client says: without rules, that is a way into the service's own network (server-side
 * request forgery). By default only `https://` URLs whose host resolves to public addresses
 * only; `WEBHOOK_ALLOW_PRIVATE=1` lifts both rules (tests, internal networks), and
 * `WEBHOOK_ALLOWED_HOSTS` lifts them for listed hosts and address ranges.
 *
 * The host is resolved once per attempt and the connection goes to the very address checked
 * (see `workers/webhook-http`): a name that resolves to a public address when checked and to a
 * private one when connected (DNS rebinding) never reaches the private one.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Config } from '../config.js';
import { isPrivateAddress } from './addresses.js';
import { MAX_WEBHOOK_URL_LENGTH } from './schemas.js';

/** A URL the policy refuses, whatever happens later: a 422 at submit. */
export class WebhookUrlRefused extends Error {
  override name = 'WebhookUrlRefused';
}

/** The host did not resolve: permanent (no such name) or not (a DNS failure or timeout). */
export class WebhookHostUnresolved extends Error {
  override name = 'WebhookHostUnresolved';
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** An address to connect to, checked. */
export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

export type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface UrlPolicyOptions {
  /** WEBHOOK_ALLOW_PRIVATE: http and private addresses allowed everywhere. */
  allowPrivate: boolean;
  /** WEBHOOK_ALLOWED_HOSTS: comma-separated host names, `.domain` suffixes, addresses and CIDRs. */
  allowedHosts: string;
  /** How names are resolved (default: the system resolver, every address). */
  lookup?: Lookup;
}

/**
 * How long a name's addresses are reused. Node's resolver (getaddrinfo on a small thread pool)
 * caches nothing; a busy receiver would otherwise cost a lookup per attempt. Reusing checked
 * addresses keeps the rule that matters: the connection goes to an address that was checked.
 */
const RESOLVED_TTL_MS = 30_000;
const RESOLVED_MAX = 1_000;

/** A URL's host as a resolver and a socket take it (`[::1]` → `::1`). */
export const bareHost = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

export class UrlPolicy {
  readonly #allowPrivate: boolean;
  readonly #names = new Set<string>();
  readonly #suffixes: string[] = [];
  readonly #ranges = new BlockList();
  readonly #lookup: Lookup;
  readonly #resolved = new Map<string, { addresses: { address: string; family: number }[]; until: number }>();

  constructor(options: UrlPolicyOptions) {
    this.#allowPrivate = options.allowPrivate;
    this.#lookup = options.lookup ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
    for (const entry of options.allowedHosts.split(',').map((e) => e.trim().toLowerCase())) {
      if (!entry) continue;
      const [network, prefix] = entry.split('/') as [string, string | undefined];
      const family = isIP(network);
      if (family === 0) {
        if (entry.startsWith('.')) this.#suffixes.push(entry);
        else this.#names.add(entry);
        continue;
      }
      const type = family === 4 ? 'ipv4' : 'ipv6';
      this.#ranges.addSubnet(network, prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix), type);
    }
  }

  /**
   * Checks what can be checked without the network: a parseable http(s) URL, not too long,
   * and, for an address literal, the address itself. Returns the URL; throws
   * {@link WebhookUrlRefused} with a message a client can act on.
   */
  parse(text: string): URL {
    if (text.length > MAX_WEBHOOK_URL_LENGTH)
      throw new WebhookUrlRefused(`longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new WebhookUrlRefused('not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new WebhookUrlRefused(`use an https:// URL, not ${url.protocol}`);
    }
    if (!url.hostname) throw new WebhookUrlRefused('the URL has no host');
    const host = bareHost(url);
    if (isIP(host)) this.#checkAddresses(url, [host]);
    else if (url.protocol === 'http:' && !this.#allowPrivate && !this.#nameAllowed(host)) {
      // Checked again after resolving (an allowed address range permits http too), but a
      // name outside every allowance can be refused now.
      if (this.#rangesEmpty())
        throw new WebhookUrlRefused('use an https:// URL (http:// is allowed only for allowed hosts)');
    }
    return url;
  }

  /**
   * Resolves the URL's host once and checks every address it has; returns the one to connect
   * to. Throws {@link WebhookUrlRefused} or {@link WebhookHostUnresolved}.
   */
  async resolve(url: URL, timeoutMs: number): Promise<CheckedAddress> {
    const host = bareHost(url);
    const literal = isIP(host);
    if (literal) {
      this.#checkAddresses(url, [host]);
      return { address: host, family: literal as 4 | 6 };
    }
    const cached = this.#resolved.get(host);
    if (cached && cached.until > Date.now()) return this.#pick(url, cached.addresses);
    let found: { address: string; family: number }[];
    let timer: NodeJS.Timeout | undefined;
    try {
      found = await Promise.race([
        this.#lookup(host),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEOUT' })), timeoutMs);
        }),
      ]);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const permanent = code === 'ENOTFOUND' || code === 'ENODATA';
      throw new WebhookHostUnresolved(
        permanent ? `${host} does not resolve` : `${host} could not be resolved (${code ?? (error as Error).message})`,
        permanent,
      );
    } finally {
      clearTimeout(timer);
    }
    if (found.length === 0) throw new WebhookHostUnresolved(`${host} does not resolve`, true);
    this.#resolved.delete(host);
    this.#resolved.set(host, { addresses: found, until: Date.now() + RESOLVED_TTL_MS });
    if (this.#resolved.size > RESOLVED_MAX) this.#resolved.delete(this.#resolved.keys().next().value as string);
    return this.#pick(url, found);
  }

  /** Checks every address of the URL's host, and returns the first. */
  #pick(url: URL, found: { address: string; family: number }[]): CheckedAddress {
    this.#checkAddresses(
      url,
      found.map((a) => a.address),
    );
    const first = found[0] as { address: string; family: number };
    return { address: first.address, family: first.family === 6 ? 6 : 4 };
  }

  /** Every address must be allowed (one private address among public ones is refused too). */
  #checkAddresses(url: URL, addresses: string[]): void {
    if (this.#allowPrivate) return;
    const host = bareHost(url);
    const nameAllowed = !isIP(host) && this.#nameAllowed(host);
    const listed = addresses.every((a) => this.#ranges.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4'));
    if (nameAllowed || listed) return;
    const inside = addresses.find(isPrivateAddress);
    if (inside !== undefined) {
      const what = isIP(host) ? 'is' : `resolves to ${inside}, which is`;
      throw new WebhookUrlRefused(
        `${host} ${what} a private, loopback or reserved address; webhooks go to public addresses only (set WEBHOOK_ALLOW_PRIVATE=1 or WEBHOOK_ALLOWED_HOSTS to allow it)`,
      );
    }
    if (url.protocol === 'http:')
      throw new WebhookUrlRefused('use an https:// URL (http:// is allowed only for allowed hosts)');
  }

  #nameAllowed(host: string): boolean {
    const name = host.toLowerCase().replace(/\.$/, '');
    return this.#names.has(name) || this.#suffixes.some((suffix) => name.endsWith(suffix));
  }

  #rangesEmpty(): boolean {
    return this.#ranges.rules.length === 0;
  }
}

/** The policy the settings ask for (WEBHOOK_ALLOW_PRIVATE, WEBHOOK_ALLOWED_HOSTS). */
export function createUrlPolicy(config: Pick<Config, 'WEBHOOK_ALLOW_PRIVATE' | 'WEBHOOK_ALLOWED_HOSTS'>): UrlPolicy {
  return new UrlPolicy({ allowPrivate: config.WEBHOOK_ALLOW_PRIVATE, allowedHosts: config.WEBHOOK_ALLOWED_HOSTS });
}
