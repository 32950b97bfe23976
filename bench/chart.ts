/**
 * @module bench/chart
 * The bench's chart: delivery latency (p50, p99) and API CPU per delivered event against the
 * number of streams on one job, jobcast beside the bare server, drawn to a PNG by
 * `lib/raster` (no image tool needed).
 */
import { Canvas, hex, type Rgb } from './lib/raster.js';

export interface ChartPoint {
  streams: number;
  jobcast: { p50Ms: number; p99Ms: number; cpuPerEventUs: number };
  bare: { p50Ms: number; p99Ms: number; cpuPerEventUs: number };
}

const JOBCAST = hex('#1f6fd1');
const BARE = hex('#e07b1a');
const INK = hex('#222222');
const GRID = hex('#e3e3e3');
const MUTED = hex('#666666');

/** A round step giving about `n` ticks up to `max`. */
function niceStep(max: number, n = 5): number {
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

const fmt = (v: number) =>
  v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1).replace(/\.0$/, '') : String(Number(v.toFixed(2)));

interface Series {
  color: Rgb;
  dash?: [number, number];
  values: number[];
}

function panel(
  canvas: Canvas,
  box: { x: number; y: number; w: number; h: number },
  title: string,
  yLabel: string,
  xs: number[],
  series: Series[],
): void {
  const max = Math.max(...series.flatMap((s) => s.values.filter(Number.isFinite)), 1e-9);
  const step = niceStep(max * 1.1);
  const top = Math.ceil((max * 1.1) / step) * step;
  const logMin = Math.log10(Math.min(...xs)) - 0.15;
  const logMax = Math.log10(Math.max(...xs)) + 0.15;
  const px = (x: number) => box.x + ((Math.log10(x) - logMin) / (logMax - logMin || 1)) * box.w;
  const py = (y: number) => box.y + box.h - (y / top) * box.h;

  canvas.text(box.x + box.w / 2, box.y - 30, title, INK, 2, 'middle');
  for (let v = 0; v <= top + step / 2; v += step) {
    canvas.line(box.x, py(v), box.x + box.w, py(v), GRID, 1);
    canvas.text(box.x - 8, py(v) - 7, fmt(v), MUTED, 2, 'end');
  }
  for (const x of xs) {
    canvas.line(px(x), box.y, px(x), box.y + box.h, GRID, 1);
    canvas.text(px(x), box.y + box.h + 8, x.toLocaleString('en-US'), MUTED, 2, 'middle');
  }
  canvas.line(box.x, box.y + box.h, box.x + box.w, box.y + box.h, INK, 1.5);
  canvas.line(box.x, box.y, box.x, box.y + box.h, INK, 1.5);
  canvas.text(box.x + box.w / 2, box.y + box.h + 34, 'streams on one job (log scale)', INK, 2, 'middle');
  canvas.textUp(box.x - 62, box.y + box.h / 2, yLabel, INK, 2);

  for (const s of series) {
    const points = xs
      .map((x, i) => [px(x), py(s.values[i] ?? Number.NaN)] as const)
      .filter(([, y]) => Number.isFinite(y));
    for (let i = 1; i < points.length; i++) {
      const [a, b] = [points[i - 1], points[i]] as [readonly [number, number], readonly [number, number]];
      canvas.line(a[0], a[1], b[0], b[1], s.color, 2.5, s.dash);
    }
    for (const [x, y] of points) canvas.disc(x, y, 4, s.color);
  }
}

/** Draws the chart; `subtitle` names the rate and the machine. */
export function drawChart(points: ChartPoint[], subtitle: string): Buffer {
  const canvas = new Canvas(1100, 520);
  const xs = points.map((p) => p.streams);
  canvas.text(550, 16, 'jobcast vs a bare Node SSE server: broadcast, one job', INK, 3, 'middle');
  canvas.text(550, 50, subtitle, MUTED, 2, 'middle');
  panel(canvas, { x: 110, y: 120, w: 400, h: 290 }, 'Delivery latency, worker report to client', 'milliseconds', xs, [
    { color: JOBCAST, values: points.map((p) => p.jobcast.p99Ms) },
    { color: BARE, values: points.map((p) => p.bare.p99Ms) },
    { color: JOBCAST, dash: [6, 5], values: points.map((p) => p.jobcast.p50Ms) },
    { color: BARE, dash: [6, 5], values: points.map((p) => p.bare.p50Ms) },
  ]);
  panel(canvas, { x: 660, y: 120, w: 400, h: 290 }, 'Server CPU per delivered event', 'microseconds', xs, [
    { color: JOBCAST, values: points.map((p) => p.jobcast.cpuPerEventUs) },
    { color: BARE, values: points.map((p) => p.bare.cpuPerEventUs) },
  ]);
  // Legend.
  const y = 490;
  const item = (x: number, color: Rgb, label: string, dash?: [number, number]) => {
    canvas.line(x, y, x + 36, y, color, 2.5, dash);
    canvas.text(x + 44, y - 7, label, INK, 2);
  };
  item(110, JOBCAST, 'jobcast');
  item(260, BARE, 'bare node:http + Redis pub/sub');
  canvas.text(1060, y - 7, 'latency: solid p99, dashed p50', MUTED, 2, 'end');
  return canvas.png();
}
