/**
 * @module bench/lib/raster
 * Just enough raster graphics for one chart: lines, rectangles, dots and bitmap text on an RGB
 * canvas drawn at twice the size and averaged down (cheap anti-aliasing), written as a PNG with
 * node:zlib. No native dependency, so `npm run bench` draws its chart on any machine.
 */
import { deflateSync } from 'node:zlib';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

export type Rgb = [number, number, number];

export function hex(color: string): Rgb {
  const n = Number.parseInt(color.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const SS = 2;

export class Canvas {
  readonly #w: number;
  readonly #h: number;
  readonly #px: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.#w = width * SS;
    this.#h = height * SS;
    this.#px = new Uint8Array(this.#w * this.#h * 3);
    for (let i = 0; i < this.#px.length; i += 3) this.#px.set(background, i);
  }

  #dot(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.#w || y >= this.#h) return;
    this.#px.set(c, (y * this.#w + x) * 3);
  }

  /** A filled rectangle (canvas units). */
  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.round(x * SS);
    const y0 = Math.round(y * SS);
    const x1 = Math.round((x + w) * SS);
    const y1 = Math.round((y + h) * SS);
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.#dot(xx, yy, c);
  }

  /** A filled disc. */
  disc(cx: number, cy: number, r: number, c: Rgb): void {
    const R = r * SS;
    const X = cx * SS;
    const Y = cy * SS;
    for (let yy = Math.floor(Y - R); yy <= Math.ceil(Y + R); yy++) {
      for (let xx = Math.floor(X - R); xx <= Math.ceil(X + R); xx++) {
        if ((xx - X) ** 2 + (yy - Y) ** 2 <= R * R) this.#dot(xx, yy, c);
      }
    }
  }

  /** A line `width` units thick; `dash` = [on, off] lengths. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, width = 1, dash?: [number, number]): void {
    const length = Math.hypot(x1 - x0, y1 - y0);
    const steps = Math.max(1, Math.ceil(length * SS * 2));
    const r = (width * SS) / 2;
    for (let i = 0; i <= steps; i++) {
      const t = i / steps;
      if (dash) {
        const along = t * length;
        if (along % (dash[0] + dash[1]) > dash[0]) continue;
      }
      const X = (x0 + (x1 - x0) * t) * SS;
      const Y = (y0 + (y1 - y0) * t) * SS;
      for (let yy = Math.floor(Y - r); yy <= Math.ceil(Y + r); yy++) {
        for (let xx = Math.floor(X - r); xx <= Math.ceil(X + r); xx++) {
          if ((xx + 0.5 - X) ** 2 + (yy + 0.5 - Y) ** 2 <= r * r + 0.25) this.#dot(xx, yy, c);
        }
      }
    }
  }

  /** Width of `text` at `scale` (canvas units per font pixel). */
  static textWidth(text: string, scale: number): number {
    return [...text].length * (GLYPH_WIDTH + 1) * scale - scale;
  }

  /** Text whose cap line starts at y; `anchor` aligns it on x. */
  text(x: number, y: number, text: string, c: Rgb, scale = 2, anchor: 'start' | 'middle' | 'end' = 'start'): void {
    const w = Canvas.textWidth(text, scale);
    let left = anchor === 'start' ? x : anchor === 'middle' ? x - w / 2 : x - w;
    for (const ch of text) {
      const rows = glyph(ch);
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (rows[row]?.[col]) this.rect(left + col * scale, y + row * scale, scale, scale, c);
        }
      }
      left += (GLYPH_WIDTH + 1) * scale;
    }
  }

  /** Text turned 90° counter-clockwise (a y-axis title), centred on (x, y). */
  textUp(x: number, y: number, text: string, c: Rgb, scale = 2): void {
    const w = Canvas.textWidth(text, scale);
    let bottom = y + w / 2;
    for (const ch of text) {
      const rows = glyph(ch);
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (rows[row]?.[col]) this.rect(x + row * scale, bottom - (col + 1) * scale, scale, scale, c);
        }
      }
      bottom -= (GLYPH_WIDTH + 1) * scale;
    }
  }

  /** The canvas as a PNG (8-bit RGB), averaged down from the working resolution. */
  png(): Buffer {
    const { width, height } = this;
    const raw = Buffer.alloc((width * 3 + 1) * height);
    for (let y = 0; y < height; y++) {
      const row = y * (width * 3 + 1);
      raw[row] = 0; // filter: none
      for (let x = 0; x < width; x++) {
        for (let k = 0; k < 3; k++) {
          let sum = 0;
          for (let dy = 0; dy < SS; dy++) {
            for (let dx = 0; dx < SS; dx++) sum += this.#px[((y * SS + dy) * this.#w + x * SS + dx) * 3 + k] as number;
          }
          raw[row + 1 + x * 3 + k] = Math.round(sum / (SS * SS));
        }
      }
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(width, 0);
    header.writeUInt32BE(height, 4);
    header[8] = 8; // bit depth
    header[9] = 2; // colour type: RGB
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
