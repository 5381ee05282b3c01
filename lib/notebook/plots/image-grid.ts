// A grid of small images (CIFAR-10 samples) with their labels: one composite picture, drawn as
// a plotly `image` trace from a PNG, the labels as annotations under each tile.
import { UsageError } from '../../util/errors';
import type { Figure } from './figure-spec';
import { encodePng } from './png';

/** Options of {@link imageGrid}. */
export interface ImageGridOptions {
  /** Tiles per row (default: up to 10). */
  columns?: number;
  /** Side of one square image in pixels (default 32, CIFAR). */
  size?: number;
  /** Names for numeric labels (e.g. the CIFAR-10 class names). */
  classNames?: readonly string[];
  /** Screen pixels per image pixel (default 2). */
  scale?: number;
  title?: string;
}

/** Gap between tiles and the band under each tile that holds its label, in image pixels. */
const GAP = 2;
const LABEL_BAND = 12;

/** The composite picture of an image grid, before encoding. */
export interface ImageGridPicture {
  rgb: Uint8Array;
  width: number;
  height: number;
  columns: number;
  rows: number;
}

/**
 * Lays `images` (n × size × size × 3 bytes, HWC, as CIFAR tensors are) out in a grid on a white
 * background, leaving a band under each tile for its label.
 */
export function composeGrid(images: Uint8Array, columns: number, size = 32): ImageGridPicture {
  const tile = size * size * 3;
  const n = images.length / tile;
  const rows = Math.ceil(n / columns);
  const width = columns * (size + GAP) + GAP;
  const height = rows * (size + GAP + LABEL_BAND) + GAP;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  for (let k = 0; k < n; k++) {
    const x0 = GAP + (k % columns) * (size + GAP);
    const y0 = GAP + Math.floor(k / columns) * (size + GAP + LABEL_BAND);
    for (let y = 0; y < size; y++) {
      rgb.set(images.subarray(k * tile + y * size * 3, k * tile + (y + 1) * size * 3), ((y0 + y) * width + x0) * 3);
    }
  }
  return { rgb, width, height, columns, rows };
}

/**
 * A grid of images with their labels. `images` holds n images of `size`×`size`×3 bytes (HWC,
 * RGB), `labels` one label per image (a name, or a class index named by `classNames`).
 * The figure's trace carries the grid's shape in `meta` and the picture as a PNG `source`.
 */
export function imageGrid(images: Uint8Array, labels: readonly (string | number)[], options: ImageGridOptions = {}): Figure {
  const size = options.size ?? 32;
  const tile = size * size * 3;
  if (!(images instanceof Uint8Array) || images.length === 0 || images.length % tile !== 0) {
    throw new UsageError(`imageGrid: images must be a Uint8Array of n×${size}×${size}×3 bytes, got ${images?.length ?? 'none'}`);
  }
  const n = images.length / tile;
  if (labels.length !== n) throw new UsageError(`imageGrid: ${n} images but ${labels.length} labels`);
  const columns = Math.max(1, Math.min(options.columns ?? 10, n));
  const picture = composeGrid(images, columns, size);
  const png = Buffer.from(encodePng(picture.rgb, picture.width, picture.height)).toString('base64');
  const scale = options.scale ?? 2;
  const names = labels.map((l) => (typeof l === 'number' ? (options.classNames?.[l] ?? String(l)) : l));
  const annotations = names.map((text, k) => ({
    x: GAP + (k % columns) * (size + GAP) + size / 2,
    y: GAP + Math.floor(k / columns) * (size + GAP + LABEL_BAND) + size + LABEL_BAND / 2,
    xref: 'x',
    yref: 'y',
    text,
    showarrow: false,
    font: { size: 11, color: 'black' },
  }));
  const margin = { l: 10, r: 10, t: options.title === undefined ? 10 : 40, b: 10 };
  return {
    data: [
      {
        type: 'image',
        source: `data:image/png;base64,${png}`,
        hoverinfo: 'skip',
        meta: { images: n, columns: picture.columns, rows: picture.rows, width: picture.width, height: picture.height },
      },
    ],
    layout: {
      ...(options.title === undefined ? {} : { title: { text: options.title } }),
      xaxis: { visible: false, range: [0, picture.width] },
      yaxis: { visible: false, range: [picture.height, 0], scaleanchor: 'x' },
      annotations,
      margin,
      width: picture.width * scale + margin.l + margin.r,
      height: picture.height * scale + margin.t + margin.b,
    },
  };
}
