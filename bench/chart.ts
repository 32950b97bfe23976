/**
 * @module bench/chart
 * The bench's chart: delivery latency (p50, p99) and API CPU per delivered event against the
 * number of streams on one job, jobcast beside the bare server, as SVG text (GitHub renders it
 * in the README; no image library needed).
 *
 * `node --import tsx bench/chart.ts` redraws `bench/chart.svg` from `bench/results.json`
 * without running the bench again.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface ChartPoint {
  streams: number;
  jobcast: { p50Ms: number; p99Ms: number; cpuPerEventUs: number };
  bare: { p50Ms: number; p99Ms: number; cpuPerEventUs: number };
}

const JOBCAST = '#1f6fd1';
const BARE = '#e07b1a';
const INK = '#222222';
const GRID = '#e3e3e3';
const MUTED = '#666666';
const TITLE = 'jobcast vs a bare Node SSE server: broadcast, one job';
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';

/** A round step giving about `n` ticks up to `max`. */
function niceStep(max: number, n = 5): number {
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

const fmt = (v: number) =>
  v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1).replace(/\.0$/, '') : String(Number(v.toFixed(2)));

/** Coordinates to one decimal: enough for a 1100-pixel chart, and a stable diff. */
const n = (v: number) => String(Math.round(v * 10) / 10);

const escapeXml = (text: string) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);

type Anchor = 'start' | 'middle' | 'end';

function text(x: number, y: number, content: string, color: string, size: number, anchor: Anchor = 'start'): string {
  return `<text x="${n(x)}" y="${n(y)}" fill="${color}" font-size="${size}" text-anchor="${anchor}">${escapeXml(content)}</text>`;
}

function line(x0: number, y0: number, x1: number, y1: number, color: string, width: number, dash?: string): string {
  const dashed = dash ? ` stroke-dasharray="${dash}"` : '';
  return `<line x1="${n(x0)}" y1="${n(y0)}" x2="${n(x1)}" y2="${n(y1)}" stroke="${color}" stroke-width="${width}"${dashed}/>`;
}

interface Series {
  color: string;
  dash?: string;
  values: number[];
}

function panel(
  box: { x: number; y: number; w: number; h: number },
  title: string,
  yLabel: string,
  xs: number[],
  series: Series[],
): string[] {
  const out: string[] = [];
  const max = Math.max(...series.flatMap((s) => s.values.filter(Number.isFinite)), 1e-9);
  const step = niceStep(max * 1.1);
  const top = Math.ceil((max * 1.1) / step) * step;
  const logMin = Math.log10(Math.min(...xs)) - 0.15;
  const logMax = Math.log10(Math.max(...xs)) + 0.15;
  const px = (x: number) => box.x + ((Math.log10(x) - logMin) / (logMax - logMin || 1)) * box.w;
  const py = (y: number) => box.y + box.h - (y / top) * box.h;

  out.push(text(box.x + box.w / 2, box.y - 18, title, INK, 16, 'middle'));
  for (let v = 0; v <= top + step / 2; v += step) {
    out.push(line(box.x, py(v), box.x + box.w, py(v), GRID, 1));
    out.push(text(box.x - 8, py(v) + 5, fmt(v), MUTED, 14, 'end'));
  }
  for (const x of xs) {
    out.push(line(px(x), box.y, px(x), box.y + box.h, GRID, 1));
    out.push(text(px(x), box.y + box.h + 22, x.toLocaleString('en-US'), MUTED, 14, 'middle'));
  }
  out.push(line(box.x, box.y + box.h, box.x + box.w, box.y + box.h, INK, 1.5));
  out.push(line(box.x, box.y, box.x, box.y + box.h, INK, 1.5));
  out.push(text(box.x + box.w / 2, box.y + box.h + 48, 'streams on one job (log scale)', INK, 15, 'middle'));
  const [lx, ly] = [n(box.x - 56), n(box.y + box.h / 2)];
  out.push(
    `<text x="${lx}" y="${ly}" fill="${INK}" font-size="15" text-anchor="middle" transform="rotate(-90 ${lx} ${ly})">${escapeXml(yLabel)}</text>`,
  );

  for (const s of series) {
    const points = xs
      .map((x, i) => [px(x), py(s.values[i] ?? Number.NaN)] as const)
      .filter(([, y]) => Number.isFinite(y));
    const dashed = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(
      `<polyline points="${points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2.5"${dashed}/>`,
    );
    for (const [x, y] of points) out.push(`<circle cx="${n(x)}" cy="${n(y)}" r="4" fill="${s.color}"/>`);
  }
  return out;
}

/** Draws the chart as an SVG document; `subtitle` names the rate and the machine. */
export function drawChart(points: ChartPoint[], subtitle: string): string {
  const xs = points.map((p) => p.streams);
  const body = [
    '<rect width="1100" height="520" fill="#ffffff"/>',
    text(550, 36, TITLE, INK, 22, 'middle'),
    text(550, 66, subtitle, MUTED, 15, 'middle'),
    ...panel({ x: 110, y: 120, w: 400, h: 290 }, 'Delivery latency, worker report to client', 'milliseconds', xs, [
      { color: JOBCAST, values: points.map((p) => p.jobcast.p99Ms) },
      { color: BARE, values: points.map((p) => p.bare.p99Ms) },
      { color: JOBCAST, dash: '6 5', values: points.map((p) => p.jobcast.p50Ms) },
      { color: BARE, dash: '6 5', values: points.map((p) => p.bare.p50Ms) },
    ]),
    ...panel({ x: 660, y: 120, w: 400, h: 290 }, 'Server CPU per delivered event', 'microseconds', xs, [
      { color: JOBCAST, values: points.map((p) => p.jobcast.cpuPerEventUs) },
      { color: BARE, values: points.map((p) => p.bare.cpuPerEventUs) },
    ]),
  ];
  // Legend.
  const y = 490;
  const item = (x: number, color: string, label: string) => [
    line(x, y, x + 36, y, color, 2.5),
    text(x + 44, y + 5, label, INK, 15),
  ];
  body.push(...item(110, JOBCAST, 'jobcast'), ...item(260, BARE, 'bare node:http + Redis pub/sub'));
  body.push(text(1060, y + 5, 'latency: solid p99, dashed p50', MUTED, 15, 'end'));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="1100" height="520" viewBox="0 0 1100 520" font-family="${FONT}" role="img" aria-labelledby="title">`,
    `  <title id="title">${escapeXml(`${TITLE}: delivery latency and server CPU per event against streams (${subtitle})`)}</title>`,
    ...body.map((element) => `  ${element}`),
    '</svg>',
    '',
  ].join('\n');
}

/** The subtitle of a run: rate, duration, machine and date. */
export function chartSubtitle(rate: number, seconds: number, cpus: number, date: Date): string {
  return `${rate} progress updates/s for ${seconds} s · ${cpus}-core machine shared with other work · ${date.toISOString().slice(0, 10)}`;
}

/** The chart of a `bench/results.json` (its broadcast points). */
export function chartFromResults(results: {
  date: string;
  machine: { cpus: number };
  settings: { broadcast: { rate: number; seconds: number } };
  results: { broadcast: ChartPoint[] };
}): string {
  const { rate, seconds } = results.settings.broadcast;
  return drawChart(
    results.results.broadcast.map((p) => ({ streams: p.streams, jobcast: p.jobcast, bare: p.bare })),
    chartSubtitle(rate, seconds, results.machine.cpus, new Date(results.date)),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = JSON.parse(readFileSync(new URL('./results.json', import.meta.url), 'utf8'));
  writeFileSync(new URL('./chart.svg', import.meta.url), chartFromResults(results));
  console.log('wrote bench/chart.svg');
}
