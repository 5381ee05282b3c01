/**
 * The CIFAR-10 networks of §4.2: depth = 6n+2 weighted layers. A 3×3 convolution with 16 filters,
 * then three stages of n blocks (2n layers each) on feature maps of 32×32, 16×16 and 8×8 with
 * 16, 32 and 64 filters (the first block of stages 2 and 3 has stride 2), then global average
 * pooling and a 10-way fully connected layer. The network outputs logits: the softmax is applied
 * by the loss (softmax cross-entropy), as in PyTorch's `cross_entropy`.
 */
import * as tf from '@tensorflow/tfjs';
import { plainBlock, residualBlock, type Shortcut } from './blocks';
import { UsageError } from '../util/errors';
import { convBnRelu } from './layers';

/** Options of {@link resnetCifar} and {@link plainCifar}. */
export interface CifarNetOptions {
  /**
   * Shortcut of every block (residual nets only). Default `'auto'`: identity, and a projection where
   * the shape changes (option B, as the PyTorch reference). The paper's CIFAR nets used option A,
   * `'zero-pad'` (§4.2); `'projection'` projects in every block (option C).
   */
  shortcut?: Shortcut;
  /** Classes of the final layer, default 10. */
  numClasses?: number;
  /** Input [height, width, channels], default [32, 32, 3]. */
  inputShape?: [number, number, number];
  /**
   * Filters of the first stage, default 16 (§4.2); the stages have `width`, `2·width` and
   * `4·width` filters. A smaller width gives a reduced-width replica of the paper's net (the same
   * depth and shortcuts, fewer filters), cheap enough to train many more iterations on a CPU.
   */
  width?: number;
  /** Model name, default `resnet<depth>` or `plain<depth>` (with `_w<width>` when the width is not 16). */
  name?: string;
}

/** Filters of the three stages (§4.2). */
export const CIFAR_STAGE_FILTERS = [16, 32, 64] as const;

/**
 * n of depth = 6n+2 (§4.2), refusing a depth not of that form with a clear message.
 *
 * @example `cifarBlocksPerStage(20) === 3`
 */
export function cifarBlocksPerStage(depth: number): number {
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    const below = Math.max(8, Math.floor((depth - 2) / 6) * 6 + 2);
    const hint = Number.isFinite(depth) && depth >= 8 ? ` (nearest: ${below} or ${below + 6})` : '';
    throw new UsageError(`depth ${depth} is not of the form 6n+2 with n ≥ 1 (§4.2): use 20, 32, 44, 56, 110, …${hint}`);
  }
  return (depth - 2) / 6;
}

function cifarNet(depth: number, kind: 'resnet' | 'plain', o: CifarNetOptions): tf.LayersModel {
  const n = cifarBlocksPerStage(depth);
  const numClasses = o.numClasses ?? 10;
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new UsageError(`numClasses must be an integer ≥ 2, got ${numClasses}`);
  }
  const width = o.width ?? CIFAR_STAGE_FILTERS[0];
  if (!Number.isInteger(width) || width < 1) throw new UsageError(`width must be a positive integer, got ${width}`);
  const name = o.name ?? `${kind}${depth}${width === CIFAR_STAGE_FILTERS[0] ? '' : `_w${width}`}`;
  const input = tf.input({ shape: o.inputShape ?? [32, 32, 3], name: `${name}_input` });
  let h = convBnRelu(input, { filters: width, kernelSize: 3, name: `${name}_conv1` });
  CIFAR_STAGE_FILTERS.map((f) => (f / CIFAR_STAGE_FILTERS[0]) * width).forEach((filters, stage) => {
    for (let b = 0; b < n; b++) {
      const strides = stage > 0 && b === 0 ? 2 : 1;
      const blockName = `${name}_stage${stage + 1}_block${b + 1}`;
      h =
        kind === 'resnet'
          ? residualBlock(h, { filters, strides, shortcut: o.shortcut ?? 'auto', name: blockName })
          : plainBlock(h, { filters, strides, name: blockName });
    }
  });
  h = tf.layers.globalAveragePooling2d({ name: `${name}_avgpool` }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: numClasses, kernelInitializer: 'heNormal', name: `${name}_fc` }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name });
}

/**
 * The CIFAR ResNet of depth 6n+2 (§4.2, Table 6): ResNet-20, 32, 44, 56, 110, … .
 * Parameters: 20 → 0.27M, 32 → 0.46M, 44 → 0.66M, 56 → 0.85M, 110 → 1.7M.
 *
 * @example
 * ```ts
 * const model = resnetCifar(20);            // logits [N, 10] for inputs [N, 32, 32, 3]
 * const a = resnetCifar(56, { shortcut: 'zero-pad' }); // the paper's option A
 * ```
 */
export function resnetCifar(depth: number, options: CifarNetOptions = {}): tf.LayersModel {
  return cifarNet(depth, 'resnet', options);
}

/** The plain twin of {@link resnetCifar}: the same layers without shortcuts (§4.2, Fig. 6 left). */
export function plainCifar(depth: number, options: Omit<CifarNetOptions, 'shortcut'> = {}): tf.LayersModel {
  return cifarNet(depth, 'plain', options);
}

/**
 * The kind and depth a CIFAR net's name says (`resnet56` → residual, 56), or undefined for a name
 * of another form. The depth is not checked here (see {@link cifarBlocksPerStage}).
 */
export function parseCifarNetName(modelName: string): { kind: 'resnet' | 'plain'; depth: number } | undefined {
  const m = /^(resnet|plain)(\d+)$/.exec(modelName);
  return m === null ? undefined : { kind: m[1] as 'resnet' | 'plain', depth: Number(m[2]) };
}

/**
 * Build a CIFAR net from its name: `resnet20`, `resnet56`, `plain20`, … (the names the CLI and the
 * results files use).
 */
export function cifarNetByName(modelName: string, options: CifarNetOptions = {}): tf.LayersModel {
  const parsed = parseCifarNetName(modelName);
  if (parsed === undefined) {
    throw new UsageError(`model '${modelName}' is not a CIFAR net name: use resnet<depth> or plain<depth>, e.g. resnet20, plain56`);
  }
  return parsed.kind === 'resnet' ? resnetCifar(parsed.depth, options) : plainCifar(parsed.depth, options);
}
