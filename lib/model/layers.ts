/**
 * The small layer helpers every block is built from: conv → batch norm (→ ReLU), with the
 * initialisation of He et al. (2015, [13] in the ResNet paper) and PyTorch's batch-norm constants,
 * and the parameter-free option-A shortcut layer.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormalization } from './batch-norm';

/** Batch-norm constants of PyTorch (momentum 0.1 there is 0.9 here; eps 1e-5), for parity. */
export const BN_MOMENTUM = 0.9;
/** See {@link BN_MOMENTUM}. */
export const BN_EPSILON = 1e-5;

let counter = 0;
/** A layer name that is unique in this process, with a readable prefix. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}_${counter}`;
}

/** Channels (last axis) of an NHWC symbolic tensor, refusing a tensor that is not rank 4. */
export function channelsOf(x: tf.SymbolicTensor, what = 'input'): number {
  const c = x.shape[x.shape.length - 1];
  if (x.shape.length !== 4 || c == null) {
    throw new Error(`${what} must be a rank-4 NHWC tensor with known channels, got shape [${x.shape.map((d) => d ?? 'batch').join(', ')}]`);
  }
  return c;
}

/** Options of {@link conv}. */
export interface ConvOptions {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number;
  name: string;
}

/**
 * A bias-free convolution with He-normal weights (§3.4) that keeps the spatial size (÷ stride).
 *
 * Stride 1 uses TensorFlow's 'same' padding. A strided k×k convolution (k odd, k > 1) is padded
 * ⌊k/2⌋ pixels on every side, then convolved with 'valid' padding, as in Caffe (the paper's
 * framework) and PyTorch: output pixel i is then centred on input pixel s·i, the very pixel the
 * 1×1 projection (or option-A) shortcut of the same block takes, so F(x) and x line up in
 * F(x) + x. TensorFlow's 'same' would pad the extra pixel only at the bottom and right and centre
 * output i on s·i + 1: the same output size, but the residual branch shifted by one input pixel
 * against its shortcut. The output size is the same either way (⌈H / s⌉).
 */
export function conv(x: tf.SymbolicTensor, o: ConvOptions): tf.SymbolicTensor {
  const strides = o.strides ?? 1;
  const [kh, kw] = typeof o.kernelSize === 'number' ? [o.kernelSize, o.kernelSize] : o.kernelSize;
  const symmetric = strides > 1 && (kh > 1 || kw > 1) && kh % 2 === 1 && kw % 2 === 1;
  let input = x;
  if (symmetric) {
    const [ph, pw] = [(kh - 1) / 2, (kw - 1) / 2];
    input = tf.layers
      .zeroPadding2d({
        padding: [
          [ph, ph],
          [pw, pw],
        ],
        name: `${o.name}_pad`,
      })
      .apply(x) as tf.SymbolicTensor;
  }
  return tf.layers
    .conv2d({
      filters: o.filters,
      kernelSize: o.kernelSize,
      strides,
      padding: symmetric ? 'valid' : 'same',
      useBias: false,
      kernelInitializer: 'heNormal',
      name: o.name,
    })
    .apply(input) as tf.SymbolicTensor;
}

/** Batch normalisation over channels, "right after each convolution and before activation" (§3.4). */
export function batchNorm(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return batchNormalization({ axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name }).apply(x) as tf.SymbolicTensor;
}

/** ReLU as a layer. */
export function relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;
}

/** conv → BN → ReLU, the unit the paper stacks (§3.4). */
export function convBnRelu(x: tf.SymbolicTensor, o: ConvOptions): tf.SymbolicTensor {
  return relu(batchNorm(conv(x, o), `${o.name}_bn`), `${o.name}_relu`);
}

/** Configuration of {@link ZeroPadShortcut}. */
export interface ZeroPadShortcutArgs {
  /** Output channels; the extra ones are zeros. */
  filters: number;
  /** Spatial subsampling factor (1 or 2). */
  strides: number;
  name?: string;
}

/**
 * Option A of §3.3 / §4.2: the shortcut "performs identity mapping, with extra zero entries padded
 * for increasing dimensions", and takes every `strides`-th pixel when the block downsamples.
 * It adds no parameter. Built from ops that have gradients on every backend (pad, reshape, slice).
 */
export class ZeroPadShortcut extends tf.layers.Layer {
  /** Registered class name, for saving and loading models. */
  static readonly className = 'ZeroPadShortcut';
  readonly filters: number;
  readonly strides: number;

  constructor(args: ZeroPadShortcutArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.strides = args.strides;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const sub = (d: number | null) => (d == null ? null : Math.ceil(d / this.strides));
    return [s[0] ?? null, sub(s[1] ?? null), sub(s[2] ?? null), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [n, h, w, c] = x.shape;
      const s = this.strides;
      if (s > 1) {
        // Pad to a multiple of s, then keep the first of every s×s patch: x[:, ::s, ::s, :].
        const ph = Math.ceil(h / s) * s - h;
        const pw = Math.ceil(w / s) * s - w;
        if (ph > 0 || pw > 0)
          x = tf.pad(x, [
            [0, 0],
            [0, ph],
            [0, pw],
            [0, 0],
          ]);
        const oh = (h + ph) / s;
        const ow = (w + pw) / s;
        const r = tf.reshape(x, [n, oh, s, ow, s * c]);
        x = tf.reshape(tf.slice(r, [0, 0, 0, 0, 0], [n, oh, 1, ow, c]), [n, oh, ow, c]);
      }
      const extra = this.filters - c;
      if (extra > 0) {
        const lo = Math.floor(extra / 2);
        x = tf.pad(x, [
          [0, 0],
          [0, 0],
          [0, 0],
          [lo, extra - lo],
        ]);
      }
      return x;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, strides: this.strides };
  }
}
tf.serialization.registerClass(ZeroPadShortcut);
