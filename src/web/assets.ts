/**
 * @module web/assets
 * The page's three files — `index.html`, the browser code bundled into `app.js`, and
 * `styles.css` — built in memory once per process, on first request, and kept. The page's
 * TypeScript (and the typed client it imports) is bundled by esbuild, the same compiler `tsx`
 * runs the service with, so there is no build step and nothing is fetched from a CDN.
 *
 * @example
 * const { html, script, styles } = await webAssets();
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

export interface Asset {
  body: string;
  contentType: string;
  /** Content hash: the `?v=` the page links the file with, and its ETag. */
  hash: string;
}

export interface WebAssets {
  html: Asset;
  script: Asset;
  styles: Asset;
}

const source = (name: string) => fileURLToPath(new URL(name, import.meta.url));

let built: Promise<WebAssets> | undefined;

/** The page's files, built on first call; a failed build is retried on the next call. */
export function webAssets(): Promise<WebAssets> {
  built ??= buildAssets().catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}

async function buildAssets(): Promise<WebAssets> {
  const [script, styles, template] = await Promise.all([
    bundleScript(),
    readFile(source('./styles.css'), 'utf8').then((css) =>
      transform(css, { loader: 'css', minify: true, charset: 'utf8', logLevel: 'silent' }),
    ),
    readFile(source('./index.html'), 'utf8'),
  ]);
  const scriptAsset = asset(script, 'text/javascript; charset=utf-8');
  const stylesAsset = asset(styles.code, 'text/css; charset=utf-8');
  // Versioned links let browsers keep the files for good: a new build is a new URL.
  const html = template
    .replace('{{script}}', `/app.js?v=${scriptAsset.hash}`)
    .replace('{{styles}}', `/styles.css?v=${stylesAsset.hash}`);
  return { html: asset(html, 'text/html; charset=utf-8'), script: scriptAsset, styles: stylesAsset };
}

async function bundleScript(): Promise<string> {
  const result = await build({
    entryPoints: [source('./app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild produced no output for src/web/app.ts');
  return output.text;
}

function asset(body: string, contentType: string): Asset {
  return { body, contentType, hash: createHash('sha256').update(body).digest('base64url').slice(0, 16) };
}
