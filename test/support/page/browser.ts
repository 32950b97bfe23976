/**
 * Headless Chromium for the page's tests, driven by playwright-core. The browser is Debian's
 * `/usr/bin/chromium` (`.ci/run` and `npm test` install it), or `CHROMIUM_PATH`: no browser is
 * ever downloaded.
 *
 * Each page gets a fresh browser context (its own localStorage; reduced motion) and records what
 * the tests assert on: console errors and uncaught exceptions, and the page's event-stream
 * requests (how many were made, how many were open at once).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, type ConsoleMessage, chromium, type Page } from 'playwright-core';
import { waitFor } from '../harness/harness.js';
import { holdOpen } from '../runner/held-open.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The features Playwright turns off (`--disable-features`, playwright-core 1.65). */
const PLAYWRIGHT_DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
];

/**
 * Headless, Chromium still builds a browser window for every context, and each window a renderer
 * of its own for the address bar's drop-down (`chrome://omnibox-popup.top-chrome/`) that no test
 * sees: 0.5 s of CPU per page opened, and the window's work in the browser process another 0.2.
 * Without them a page opens for ~0.4 CPU-s instead of ~1.1 (measured per process type over six
 * page opens). Chromium honours only the last `--disable-features` of its command line, so this
 * one repeats Playwright's list; `launchChromium` checks that it still does.
 */
const UNSEEN_FEATURES = ['WebUIOmniboxPopup', 'WebUIOmniboxAimPopup', 'WebUIOmniboxFullPopup'];

/**
 * Playwright gives every launch a fresh temporary `--user-data-dir` of its own (and refuses
 * one in `args`), so nothing leaks between runs.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--disable-features=${[...PLAYWRIGHT_DISABLED_FEATURES, ...UNSEEN_FEATURES].join(',')}`,
];

/** A Chromium of its own, for a test about the browser itself; pages use `sharedChromium()`. */
export async function launchChromium(): Promise<Browser> {
  return (await launch()).browser;
}

/** Launches Chromium; returns it with its process, which Playwright does not hand out. */
async function launch(): Promise<{ browser: Browser; child: (ChildProcess & HandleOwner) | undefined }> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium; npm test does so as root) or set CHROMIUM_PATH`,
    );
  }
  const before = new Set(chromiumChildren());
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 20_000,
  });
  const child = chromiumChildren().find((c) => !before.has(c));
  const missing = child
    ? featuresPlaywrightDisables(child.spawnargs).filter((f) => !PLAYWRIGHT_DISABLED_FEATURES.includes(f))
    : [];
  if (missing.length > 0) {
    await browser.close();
    throw new Error(
      `Playwright now also disables ${missing.join(', ')}: add them to PLAYWRIGHT_DISABLED_FEATURES (test/support/page/browser.ts), whose --disable-features replaces Playwright's`,
    );
  }
  return { browser, child };
}

/** The features of the first `--disable-features` of a command line: Playwright's own. */
function featuresPlaywrightDisables(args: string[]): string[] {
  const flag = args.find((arg) => arg.startsWith('--disable-features='));
  return flag ? flag.slice('--disable-features='.length).split(',').filter(Boolean) : [];
}

interface SharedChromium {
  browser: Promise<Browser>;
  /** Its process, once launched: what it holds open is not a test's leak. */
  child?: ChildProcess;
}
let shared: SharedChromium | undefined;

type HandleOwner = { spawnfile?: unknown };
const chromiumChildren = () =>
  (process as unknown as { _getActiveHandles(): HandleOwner[] })
    ._getActiveHandles()
    .filter((handle): handle is ChildProcess & HandleOwner => handle.spawnfile === CHROMIUM_PATH);

/**
 * One Chromium for every test file of a test process (files share processes: `isolate: false`),
 * launched on first use: a launch costs about a second of CPU and several on a busy machine.
 * Tests share nothing else: every page gets a browser context of its own (`openPage`), with its
 * own storage, closed with the page. Never close it: it ends with the test process (Playwright
 * kills the browsers it launched when the process exits); one that crashed is launched again.
 */
export function sharedChromium(): Promise<Browser> {
  if (shared) return shared.browser;
  const launching: SharedChromium = {
    browser: launch().then(
      ({ browser, child }) => {
        launching.child = child;
        browser.on('disconnected', () => {
          if (shared === launching) shared = undefined;
        });
        return browser;
      },
      (error: unknown) => {
        if (shared === launching) shared = undefined;
        throw error;
      },
    ),
  };
  shared = launching;
  return launching.browser;
}

// The shared Chromium, its process and the pipes to it, are no test's leak or process left behind.
holdOpen(() => {
  const child = shared?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return { resources: {} };
  const active = new Set<unknown>((process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles());
  const pipes = child.stdio.filter((stream) => stream && active.has(stream)).length;
  return {
    resources: { ...(active.has(child) ? { ProcessWrap: 1 } : {}), ...(pipes ? { PipeWrap: pipes } : {}) },
    ...(child.pid === undefined ? {} : { pid: child.pid }),
  };
});

/** Event-stream requests of a page: `/events?jobs=…` and `/jobs/{id}/events`. */
export interface StreamRequests {
  /** Every stream request the browser sent, in order (seen on the network). */
  urls: string[];
  /**
   * The most streams the page held open at once (measured in the page: a stream is open from
   * its fetch until it ends, fails or is aborted). Chromium reports a cancelled request's end
   * tens of milliseconds late, after the page's next request is already on its way, so the
   * network events cannot tell a restart from two streams at once.
   */
  maxOpen(): Promise<number>;
}

export interface PageUnderTest {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions, minus the ones `expectedError` accepted. */
  errors: string[];
  streams: StreamRequests;
  /** Requests to any origin but jobcast's own (a CDN, a font host…): there should be none. */
  foreignRequests: string[];
  close(): Promise<void>;
}

export interface OpenPageOptions {
  viewport?: { width: number; height: number };
  /** Returns true for a console error the test expects (it is then not recorded). */
  expectedError?: (message: ConsoleMessage) => boolean;
}

const isStream = (url: string) => /^\/(?:events|jobs\/[^/]+\/events)$/.test(new URL(url).pathname);

export async function openPage(browser: Browser, url: string, options: OpenPageOptions = {}): Promise<PageUnderTest> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1200, height: 800 },
    // The tests read the page's DOM, never its motion; the running bars' endless stripes and the
    // blinking dots would keep Chromium repainting (and a core busy) for as long as jobs run. The
    // page honours the preference (styles.css), as it does for anyone who asks for less motion.
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  await context.addInitScript(countOpenStreams);
  const streams: StreamRequests = {
    urls: [],
    maxOpen: () => page.evaluate(() => (window as unknown as StreamWindow).jobcastStreams.maxOpen),
  };
  const foreignRequests: string[] = [];
  const origin = new URL(url).origin;
  page.on('console', (message) => {
    if (message.type() !== 'error' || options.expectedError?.(message)) return;
    errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.stack ?? error.message}`));
  page.on('request', (request) => {
    const target = new URL(request.url());
    if (target.protocol !== 'data:' && target.origin !== origin) foreignRequests.push(request.url());
    if (isStream(request.url())) streams.urls.push(request.url());
  });
  await page.goto(url);
  return { context, page, errors, streams, foreignRequests, close: () => context.close() };
}

interface StreamWindow {
  jobcastStreams: { open: number; maxOpen: number };
}

/**
 * Runs in the page before its own scripts (init scripts are not subject to its CSP): wraps
 * `fetch` to count the event streams open at once. A stream ends when its body has been read
 * to the end or cancelled, when the fetch fails, or when its signal aborts.
 */
function countOpenStreams(): void {
  const stats = { open: 0, maxOpen: 0 };
  (window as unknown as StreamWindow).jobcastStreams = stats;
  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!/^\/(?:events|jobs\/[^/]+\/events)$/.test(new URL(url, location.href).pathname)) return original(input, init);
    stats.open++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    let ended = false;
    const end = () => {
      if (!ended) stats.open--;
      ended = true;
    };
    init?.signal?.addEventListener('abort', end, { once: true });
    try {
      const response = await original(input, init);
      if (!response.body) {
        end();
        return response;
      }
      // Pass the body through untouched, noticing when it is finished or cancelled.
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      response.body.pipeTo(writable).then(end, end);
      return new Response(readable, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } catch (error) {
      end();
      throw error;
    }
  };
}

/** A console error Chromium logs for a request the network refused (the server is down). */
export function isConnectionRefused(message: ConsoleMessage): boolean {
  return message.text() === 'Failed to load resource: net::ERR_CONNECTION_REFUSED';
}

/**
 * Reads the page's rows with `read` until `check` accepts them, and returns them; a timeout's
 * error shows the rows last read.
 *
 * @example
 * await untilRows(page, rows, 'one job done', (r) => r[0]?.state === 'completed');
 */
export async function untilRows<R>(
  page: Page,
  read: (page: Page) => Promise<R[]>,
  what: string,
  check: (rows: R[]) => boolean,
  timeoutMs = 15_000,
): Promise<R[]> {
  let last: R[] = [];
  try {
    await waitFor(
      async () => {
        last = await read(page);
        return check(last);
      },
      what,
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; rows: ${JSON.stringify(last, null, 1)}`);
  }
  return last;
}
