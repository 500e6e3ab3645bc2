/**
 * Visual regression: a screenshot against its baseline, pixel by pixel (pixelmatch). Images of
 * different sizes are compared on the larger canvas, where the part only one of them covers
 * counts as different. Masked selectors are painted one colour in both, so they never differ.
 */
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';

export interface Comparison {
  /** Percent of pixels that match, two decimals. */
  similarity: number;
  /** The differing pixels in red over a faded copy of the screenshot. */
  diff: Buffer;
}

export const pngSize = (png: Buffer): { width: number; height: number } => {
  const { width, height } = PNG.sync.read(png);
  return { width, height };
};

function onCanvas(img: PNG, width: number, height: number): Buffer {
  if (img.width === width && img.height === height) return img.data;
  const out = new PNG({ width, height });
  PNG.bitblt(img, out, 0, 0, img.width, img.height, 0, 0);
  return out.data;
}

export function compareScreenshots(baseline: Buffer, current: Buffer): Comparison {
  const a = PNG.sync.read(baseline);
  const b = PNG.sync.read(current);
  const width = Math.max(a.width, b.width);
  const height = Math.max(a.height, b.height);
  const diff = new PNG({ width, height });
  const differing = pixelmatch(onCanvas(a, width, height), onCanvas(b, width, height), diff.data, width, height, { threshold: 0.1 });
  const similarity = Math.floor((1 - differing / (width * height)) * 10_000) / 100;
  return { similarity, diff: PNG.sync.write(diff) };
}
