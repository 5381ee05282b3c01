/**
 * `ResNet`: the block-by-block builder of the original TensorFlow tutorial ("Create Your Own
 * ResNet"), in TypeScript names. Each method takes the current feature map `h` and returns the next:
 *
 * ```ts
 * const net = new ResNet({ batch: 128 });
 * let h = net.initBlock({ filter: [7, 7], channel: [3, 32], stride: 2, maxPool: { kernel: 3, stride: 2 } });
 * h = net.residualBlock(h, { filter: [3, 3], channel: [32, 32] });
 * h = net.residualBlock(h, { filter: [3, 3], channel: [32, 64], stride: 2 });
 * h = net.avgPool(h, { kernel: 4, stride: 4 });
 * net.fc(h);
 * const model = net.model();
 * ```
 *
 * Two faults of the original tutorial are fixed here:
 * 1. Its residual block gave the block's stride to *both* 3×3 convolutions, so a stride-2 block
 *    shrank the map four-fold and no longer matched its shortcut. Here only the first convolution
 *    strides (§3.3: "performed by convolutions with a stride of 2"); the second has stride 1.
 * 2. Its batch normalisation always normalised with the statistics of the current batch, also at
 *    inference, so a prediction depended on the other images in the batch. Here batch norm uses
 *    batch statistics while training and its moving averages at inference (the layers API's
 *    `training` flag), as in the paper (§3.4, following Ioffe & Szegedy).
 */
import * as tf from '@tensorflow/tfjs';
import { residualBlock as residualBlockFn, type Shortcut } from './blocks';
import { UsageError } from '../util/errors';
import { channelsOf, convBnRelu, uniqueName } from './layers';

/** Options of the {@link ResNet} constructor. */
export interface ResNetOptions {
  /** Batch size the model is meant to be trained with (the input itself accepts any batch). */
  batch: number;
  /** Classes of the final fully connected layer, default 10. */
  numLabels?: number;
  /** Input [height, width, channels], default [32, 32, 3]. */
  inputShape?: [number, number, number];
}

/** A pooling window, as the tutorial wrote it. */
export interface PoolOptions {
  /** Window size (square, or [height, width]). */
  kernel: number | [number, number];
  /** Stride (square, or [height, width]). */
  stride: number | [number, number];
}

/** Options of {@link ResNet.initBlock}. */
export interface InitBlockOptions {
  /** Kernel [height, width], e.g. [7, 7]. */
  filter: [number, number];
  /** [input channels, output channels]; the input channels must equal the image's. */
  channel: [number, number];
  /** Stride of the convolution, default 1. */
  stride?: number;
  /** Follow with max pooling (the ImageNet stem: 3×3, stride 2). */
  maxPool?: PoolOptions;
}

/** Options of {@link ResNet.residualBlock}. */
export interface TutorialBlockOptions {
  /** Kernel [height, width] of both convolutions, e.g. [3, 3]. */
  filter: [number, number];
  /** [input channels, output channels]; the input channels must equal those of `h`. */
  channel: [number, number];
  /** Stride of the first convolution (1 or 2), default 1. */
  stride?: number;
  /** Shortcut when the shape changes, default `'auto'` (projection). */
  shortcut?: Shortcut;
}

/** The tutorial's builder: see the module documentation above. */
export class ResNet {
  /** The symbolic input, shape [batch, ...inputShape]. */
  readonly input: tf.SymbolicTensor;
  /** Batch size the model is meant to be trained with. */
  readonly batch: number;
  /** Classes of the final layer. */
  readonly numLabels: number;
  /** Input [height, width, channels]. */
  readonly inputShape: [number, number, number];
  private logits: tf.SymbolicTensor | undefined;

  constructor(options: ResNetOptions) {
    const { batch, numLabels = 10, inputShape = [32, 32, 3] } = options;
    if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(numLabels) || numLabels < 2) throw new UsageError(`numLabels must be an integer ≥ 2, got ${numLabels}`);
    this.batch = batch;
    this.numLabels = numLabels;
    this.inputShape = inputShape;
    this.input = tf.input({ shape: inputShape, name: uniqueName('image') });
  }

  private checkChannels(h: tf.SymbolicTensor, channel: [number, number], method: string): void {
    const c = channelsOf(h, `${method}: h`);
    if (channel[0] !== c) {
      throw new UsageError(
        `${method}: channel[0] is ${channel[0]} but h has ${c} channels (shape [${h.shape.map((d) => d ?? 'batch').join(', ')}]); ` +
          `set channel: [${c}, ${channel[1]}]`,
      );
    }
  }

  /** The stem: conv (filter, channel, stride) – BN – ReLU, then optional max pooling. */
  initBlock(options: InitBlockOptions): tf.SymbolicTensor {
    this.checkChannels(this.input, options.channel, 'initBlock');
    let h = convBnRelu(this.input, {
      filters: options.channel[1],
      kernelSize: options.filter,
      strides: options.stride ?? 1,
      name: uniqueName('init'),
    });
    if (options.maxPool !== undefined) h = this.maxPool(h, options.maxPool);
    return h;
  }

  /** Max pooling with 'same' padding. */
  maxPool(h: tf.SymbolicTensor, options: PoolOptions): tf.SymbolicTensor {
    return tf.layers
      .maxPooling2d({ poolSize: options.kernel, strides: options.stride, padding: 'same', name: uniqueName('maxpool') })
      .apply(h) as tf.SymbolicTensor;
  }

  /**
   * A basic residual block, y = ReLU(F(x) + x) (Eq. 1), or with a projection W_s x when `channel`
   * or `stride` change the shape (Eq. 2). Only the first convolution strides (fault 1, fixed).
   */
  residualBlock(h: tf.SymbolicTensor, options: TutorialBlockOptions): tf.SymbolicTensor {
    this.checkChannels(h, options.channel, 'residualBlock');
    return residualBlockFn(h, {
      filters: options.channel[1],
      kernelSize: options.filter,
      strides: options.stride ?? 1,
      shortcut: options.shortcut ?? 'auto',
    });
  }

  /** Average pooling with 'valid' padding (the tutorial's final pooling before `fc`). */
  avgPool(h: tf.SymbolicTensor, options: PoolOptions): tf.SymbolicTensor {
    return tf.layers
      .averagePooling2d({ poolSize: options.kernel, strides: options.stride, padding: 'valid', name: uniqueName('avgpool') })
      .apply(h) as tf.SymbolicTensor;
  }

  /** Flatten, then the fully connected layer to `numLabels` logits (the softmax is in the loss). */
  fc(h: tf.SymbolicTensor): tf.SymbolicTensor {
    const flat = h.shape.length > 2 ? (tf.layers.flatten({ name: uniqueName('flatten') }).apply(h) as tf.SymbolicTensor) : h;
    this.logits = tf.layers
      .dense({ units: this.numLabels, kernelInitializer: 'heNormal', name: uniqueName('fc') })
      .apply(flat) as tf.SymbolicTensor;
    return this.logits;
  }

  /**
   * The `tf.LayersModel` from the input to `output`, by default the last result of
   * {@link ResNet.fc}.
   */
  model(output: tf.SymbolicTensor | undefined = this.logits, name = 'custom_resnet'): tf.LayersModel {
    if (output === undefined) throw new UsageError('model(): call fc(h) first, or pass the output tensor');
    return tf.model({ inputs: this.input, outputs: output, name });
  }
}

/**
 * The custom net that chapter 6 composes with {@link ResNet}, after the tutorial's example: a 7×7
 * stem with 32 filters and 3×3/2 max pooling (32×32 → 16×16), two residual blocks at 32 channels,
 * a stride-2 block to 64 channels and one more at 64 (8×8), 8×8 average pooling and the classifier.
 * 175 210 parameters; it works at 16×16 and below, so a step costs far less than ResNet-20.
 */
export function tutorialResNet(options: Partial<ResNetOptions> = {}): tf.LayersModel {
  const net = new ResNet({ batch: 128, ...options });
  let h = net.initBlock({ filter: [7, 7], channel: [3, 32], maxPool: { kernel: 3, stride: 2 } });
  h = net.residualBlock(h, { filter: [3, 3], channel: [32, 32] });
  h = net.residualBlock(h, { filter: [3, 3], channel: [32, 32] });
  h = net.residualBlock(h, { filter: [3, 3], channel: [32, 64], stride: 2 });
  h = net.residualBlock(h, { filter: [3, 3], channel: [64, 64] });
  h = net.avgPool(h, { kernel: 8, stride: 8 });
  return net.model(net.fc(h), 'tutorial_resnet');
}
