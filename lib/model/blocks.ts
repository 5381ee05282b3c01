/**
 * Residual building blocks (He et al., 2015, §3.2–3.3, Fig. 2 and 5) and their plain twins,
 * as functions over symbolic tensors of the TensorFlow.js layers API:
 *
 *     y = F(x, {W_i}) + x            (Eq. 1, identity shortcut)
 *     y = F(x, {W_i}) + W_s x        (Eq. 2, projection shortcut)
 *
 * with ReLU after the addition. Use them inside `tf.model({ inputs, outputs })`.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../util/errors';
import { batchNorm, channelsOf, conv, convBnRelu, relu, uniqueName, ZeroPadShortcut } from './layers';

/**
 * How the shortcut carries x to the addition (§3.3):
 * - `'identity'`: x itself (Eq. 1); shapes must match.
 * - `'zero-pad'`: option A, identity with zero channels padded and pixels subsampled: no parameters.
 * - `'projection'`: always a 1×1 convolution W_s with batch norm (Eq. 2), also where shapes match;
 *   used in every block this is option C of §4.1.
 * - `'auto'`: identity where the shapes match, else projection: option B of §4.1, the default.
 */
export type Shortcut = 'identity' | 'zero-pad' | 'projection' | 'auto';

const SHORTCUTS: readonly Shortcut[] = ['identity', 'zero-pad', 'projection', 'auto'];

/** Options of {@link residualBlock} and {@link plainBlock}. */
export interface BlockOptions {
  /** Output channels (filters of each 3×3 convolution). */
  filters: number;
  /** Stride of the first convolution; 2 halves the feature map (§3.3). Default 1. */
  strides?: number;
  /** Kernel of both convolutions, default 3 (3×3, as everywhere in the paper). */
  kernelSize?: number | [number, number];
  /** Shortcut type, default `'auto'`. Ignored by {@link plainBlock}. */
  shortcut?: Shortcut;
  /** Prefix of the layer names (unique by default). */
  name?: string;
}

/** Options of {@link bottleneckBlock}. */
export interface BottleneckOptions extends BlockOptions {
  /** Output channels = `filters × expansion` (4 in the paper, Fig. 5 right). */
  expansion?: number;
}

function checkPositiveInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${what} must be a positive integer, got ${value}`);
}

function checkStrides(strides: number): void {
  if (strides !== 1 && strides !== 2) throw new UsageError(`strides must be 1 or 2, got ${strides}`);
}

/**
 * The shortcut branch of a block: x, zero-padded x (option A) or W_s x (option B, Eq. 2).
 * Exported for readers who build their own blocks.
 */
export function shortcutBranch(
  x: tf.SymbolicTensor,
  o: { filters: number; strides: number; shortcut: Shortcut; name: string },
): tf.SymbolicTensor {
  if (!SHORTCUTS.includes(o.shortcut)) {
    throw new UsageError(`shortcut must be one of ${SHORTCUTS.map((s) => `'${s}'`).join(', ')}, got '${String(o.shortcut)}'`);
  }
  const inChannels = channelsOf(x);
  const same = o.strides === 1 && inChannels === o.filters;
  switch (o.shortcut) {
    case 'identity':
      if (!same) {
        throw new UsageError(
          `an identity shortcut needs F(x) and x of the same shape, but the block maps ${inChannels} channels to ` +
            `${o.filters} with stride ${o.strides}: use shortcut 'zero-pad' (option A) or 'projection' (option B)`,
        );
      }
      return x;
    case 'zero-pad':
      if (o.filters < inChannels) {
        throw new UsageError(`a zero-pad shortcut cannot reduce channels (${inChannels} → ${o.filters}): use 'projection'`);
      }
      return same
        ? x
        : (new ZeroPadShortcut({ filters: o.filters, strides: o.strides, name: `${o.name}_zeropad` }).apply(x) as tf.SymbolicTensor);
    case 'auto':
    case 'projection':
      if (same && o.shortcut === 'auto') return x;
      // W_s: a 1×1 convolution with the block's stride, then batch norm (Eq. 2).
      return batchNorm(conv(x, { filters: o.filters, kernelSize: 1, strides: o.strides, name: `${o.name}_proj` }), `${o.name}_proj_bn`);
  }
}

function add(a: tf.SymbolicTensor, b: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.add({ name }).apply([a, b]) as tf.SymbolicTensor;
}

/**
 * The basic residual block of the paper (Fig. 2; Eq. 1–2): conv3×3–BN–ReLU–conv3×3–BN = F(x),
 * plus the shortcut, then ReLU after the addition: y = ReLU(F(x) + x).
 */
export function residualBlock(x: tf.SymbolicTensor, options: BlockOptions): tf.SymbolicTensor {
  const { filters, strides = 1, shortcut = 'auto', kernelSize = 3 } = options;
  checkPositiveInt(filters, 'filters');
  checkStrides(strides);
  const name = options.name ?? uniqueName('res');
  const s = shortcutBranch(x, { filters, strides, shortcut, name });
  let f = convBnRelu(x, { filters, kernelSize, strides, name: `${name}_conv1` });
  f = batchNorm(conv(f, { filters, kernelSize, strides: 1, name: `${name}_conv2` }), `${name}_conv2_bn`);
  return relu(add(f, s, `${name}_add`), `${name}_out`);
}

/**
 * The plain twin of {@link residualBlock}: the same two 3×3 layers without the shortcut,
 * y = ReLU(BN(conv(ReLU(BN(conv(x)))))) (§4.1, "plain networks").
 */
export function plainBlock(x: tf.SymbolicTensor, options: BlockOptions): tf.SymbolicTensor {
  const { filters, strides = 1, kernelSize = 3 } = options;
  checkPositiveInt(filters, 'filters');
  checkStrides(strides);
  const name = options.name ?? uniqueName('plain');
  const f = convBnRelu(x, { filters, kernelSize, strides, name: `${name}_conv1` });
  return relu(batchNorm(conv(f, { filters, kernelSize, strides: 1, name: `${name}_conv2` }), `${name}_conv2_bn`), `${name}_out`);
}

/**
 * The bottleneck block (Fig. 5 right, §4.1 "Deeper Bottleneck Architectures"): 1×1 (reduce to
 * `filters`) – 3×3 – 1×1 (restore to `filters × expansion`), each followed by BN, plus the shortcut
 * and ReLU after the addition. As in the paper's ImageNet models, a downsampling block puts its
 * stride on the first 1×1 convolution.
 */
export function bottleneckBlock(x: tf.SymbolicTensor, options: BottleneckOptions): tf.SymbolicTensor {
  const { filters, strides = 1, shortcut = 'auto', expansion = 4 } = options;
  checkPositiveInt(filters, 'filters');
  checkPositiveInt(expansion, 'expansion');
  checkStrides(strides);
  const name = options.name ?? uniqueName('bottleneck');
  const out = filters * expansion;
  const s = shortcutBranch(x, { filters: out, strides, shortcut, name });
  let f = convBnRelu(x, { filters, kernelSize: 1, strides, name: `${name}_reduce` });
  f = convBnRelu(f, { filters, kernelSize: 3, strides: 1, name: `${name}_conv` });
  f = batchNorm(conv(f, { filters: out, kernelSize: 1, strides: 1, name: `${name}_expand` }), `${name}_expand_bn`);
  return relu(add(f, s, `${name}_add`), `${name}_out`);
}
