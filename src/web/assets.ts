/**
 * @module web/assets
 * The page's three files — `index.html`, the browser code bundled into `app.js`, and
 * `styles.css` — read once per process, on first request, and kept. The compiled service
 * (`npm run build`) reads the files the build wrote beside it, in `dist/web/`; run from source
 * (tsx, in development), the page's TypeScript and the typed client it imports are bundled here
 * by esbuild, in memory. Nothing is fetched from a CDN.
 *
 * @example
 * const { html, script, styles } = await webAssets();
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

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

/**
 * Where the build put the page's files: `dist/web/`, beside the compiled module this code is
 * bundled into. From source, this names `src/web/web/`, which never exists.
 */
const PREBUILT = source('./web/');

let built: Promise<WebAssets> | undefined;

/** The page's files, read or built on first call; a failed attempt is retried on the next call. */
export function webAssets(): Promise<WebAssets> {
  built ??= (existsSync(PREBUILT) ? readPrebuilt() : buildAssets()).catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}

async function readPrebuilt(): Promise<WebAssets> {
  const [html, script, styles] = await Promise.all(
    ['index.html', 'app.js', 'styles.css'].map((name) => readFile(`${PREBUILT}${name}`, 'utf8')),
  );
  return {
    html: asset(html as string, 'text/html; charset=utf-8'),
    script: asset(script as string, 'text/javascript; charset=utf-8'),
    styles: asset(styles as string, 'text/css; charset=utf-8'),
  };
}

/** Bundles the page from its sources (esbuild, a development dependency: loaded only here). */
export async function buildAssets(): Promise<WebAssets> {
  const { transform } = await import('esbuild');
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
  const { build } = await import('esbuild');
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
