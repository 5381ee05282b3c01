/**
 * The CIFAR-10 training augmentation of He et al. (2015), §4.2: "4 pixels are padded on
 * each side, and a 32×32 crop is randomly sampled from the padded image or its horizontal
 * flip". Applied on the fly, per image, while a batch's Float32Array is filled, together
 * with the per-channel normalisation (one table lookup per pixel).
 *
 * As in the PyTorch reference, the padding is zero in the raw [0, 1] pixel domain, so a
 * padded pixel of channel c becomes (0 − mean[c]) / std[c] after normalisation.
 */
import type { Rng } from './random';

/** Image side (CIFAR-10 images are 32×32). */
export const IMAGE_SIZE = 32;
/** Channels per pixel (RGB). */
export const CHANNELS = 3;
/** Values per image (32·32·3). */
export const IMAGE_VALUES = IMAGE_SIZE * IMAGE_SIZE * CHANNELS;
/** Padding on each side before the random crop (§4.2). */
export const PAD = 4;

/** One image's augmentation: the crop's top-left corner in the padded 40×40 image, and the flip. */
export interface AugmentParams {
  /** Row of the crop's top-left corner in the padded image, 0..2·PAD (PAD = no shift). */
  dy: number;
  /** Column of the crop's top-left corner in the padded image, 0..2·PAD. */
  dx: number;
  /** Mirror the cropped image left–right. */
  flip: boolean;
}

/** The identity augmentation (centre crop of the padded image, no flip). */
export const NO_AUGMENT: Readonly<AugmentParams> = Object.freeze({ dy: PAD, dx: PAD, flip: false });

/** Draw one image's augmentation from `rng` (three draws: dy, dx, flip; uniform like the reference). */
export function drawAugment(rng: Rng): AugmentParams {
  const dy = rng.int(2 * PAD + 1);
  const dx = rng.int(2 * PAD + 1);
  const flip = rng.next() < 0.5;
  return { dy, dx, flip };
}

/**
 * The normalisation as a lookup table: `table[v * 3 + c] = (v / 255 − mean[c]) / std[c]`
 * for v = 0..255, and three more entries at 256·3 + c for the zero padding (equal to v = 0).
 */
export function normalisationTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const table = new Float32Array(257 * CHANNELS);
  for (let v = 0; v < 256; v++) {
    for (let c = 0; c < CHANNELS; c++) table[v * CHANNELS + c] = (v / 255 - mean[c]) / std[c];
  }
  for (let c = 0; c < CHANNELS; c++) table[256 * CHANNELS + c] = (0 - mean[c]) / std[c];
  return table;
}

/**
 * Write one normalised, augmented image into `out` at `outOffset` (HWC order).
 *
 * @param images uint8 images, HWC per image
 * @param index which image of `images`
 * @param table from {@link normalisationTable}
 * @param params crop and flip; {@link NO_AUGMENT} copies the image as it is
 */
export function fillImage(
  images: Uint8Array,
  index: number,
  out: Float32Array,
  outOffset: number,
  table: Float32Array,
  params: Readonly<AugmentParams> = NO_AUGMENT,
): void {
  const S = IMAGE_SIZE;
  const C = CHANNELS;
  const src = index * IMAGE_VALUES;
  const padBase = 256 * C;
  const p0 = table[padBase];
  const p1 = table[padBase + 1];
  const p2 = table[padBase + 2];
  // Output (y, x) comes from the crop's (y, x') with x' = flip ? 31 − x : x,
  // i.e. from source pixel (y + dy − PAD, x' + dx − PAD), or zero padding when outside.
  const oy = params.dy - PAD;
  const ox = params.dx - PAD;
  const flip = params.flip;
  for (let y = 0; y < S; y++) {
    const sy = y + oy;
    let o = outOffset + y * S * C;
    if (sy < 0 || sy >= S) {
      for (let x = 0; x < S; x++, o += C) {
        out[o] = p0;
        out[o + 1] = p1;
        out[o + 2] = p2;
      }
      continue;
    }
    const row = src + sy * S * C;
    for (let x = 0; x < S; x++, o += C) {
      const sx = (flip ? S - 1 - x : x) + ox;
      if (sx < 0 || sx >= S) {
        out[o] = p0;
        out[o + 1] = p1;
        out[o + 2] = p2;
      } else {
        const s = row + sx * C;
        out[o] = table[images[s] * C];
        out[o + 1] = table[images[s + 1] * C + 1];
        out[o + 2] = table[images[s + 2] * C + 2];
      }
    }
  }
}
