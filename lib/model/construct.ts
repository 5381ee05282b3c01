/**
 * The constructed solution of §1: "There exists a solution by construction to the deeper model:
 * the added layers are identity mapping, and the other layers are copied from the learned shallower
 * model." {@link constructDeeper} builds that deeper model, so a notebook can show that it is as
 * good as the shallow one, and that a solver training the same architecture from scratch does not
 * find a solution this good (the degradation problem).
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../util/errors';
import { batchNormalization } from './batch-norm';
import { BN_EPSILON, BN_MOMENTUM } from './layers';

/** Options of {@link constructDeeper}. */
export interface ConstructOptions {
  /** How many conv–BN–ReLU layers to add, each initialised to the identity. */
  extraLayers: number;
  /** Name of the new model, default `<shallow name>_plus<extraLayers>`. */
  name?: string;
  /**
   * Initialise the added layers to the identity (default true). `false` keeps their random
   * He-normal initialisation: applied to an untrained `shallow`, this gives the same deep
   * architecture to be trained from scratch, for comparison.
   */
  identity?: boolean;
}

type LayerClass = { new (config: tf.serialization.ConfigDict): tf.layers.Layer };

/** The layers of a chain model in order (no input layer), refusing branches (shortcuts). */
function chainLayers(model: tf.LayersModel): tf.layers.Layer[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UsageError(
      `constructDeeper needs a model with one input and one output; '${model.name}' has ${model.inputs.length} and ${model.outputs.length}`,
    );
  }
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  for (const layer of layers) {
    const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers);
    if (inbound.length !== 1) {
      throw new UsageError(
        `constructDeeper needs a plain chain of layers, but layer '${layer.name}' of '${model.name}' has ${inbound.length} inputs ` +
          '(a residual net already contains shortcuts: start from a plain net such as plainCifar(8))',
      );
    }
  }
  return layers;
}

function isRelu(layer: tf.layers.Layer): boolean {
  const c = layer.getConfig();
  return layer.getClassName() === 'ReLU' || (layer.getClassName() === 'Activation' && c.activation === 'relu');
}

/**
 * Where to put the identity layers: after the last ReLU of each stage (each feature-map size),
 * so the added layers see the stage's channels, and spread the count evenly over the stages.
 */
function insertionPlan(layers: tf.layers.Layer[], extra: number): Map<number, number> {
  const relus = layers.map((l, i) => ({ l, i })).filter(({ l }) => isRelu(l));
  if (relus.length === 0) throw new UsageError('constructDeeper needs a model with ReLU layers (the identity layers go after one)');
  const key = (l: tf.layers.Layer) => JSON.stringify(l.outputShape);
  const stageEnds = relus.filter((r, k) => k === relus.length - 1 || key(relus[k + 1]!.l) !== key(r.l)).map((r) => r.i);
  const plan = new Map<number, number>();
  stageEnds.forEach((index, s) => {
    const share = Math.floor(extra / stageEnds.length) + (s < extra % stageEnds.length ? 1 : 0);
    if (share > 0) plan.set(index, share);
  });
  return plan;
}

/**
 * An identity conv–BN–ReLU layer for non-negative inputs h (outputs of a ReLU), at inference:
 * the 3×3 kernel is a centred delta per channel, so conv(h) = h; batch norm with γ = 1, β = 0,
 * moving mean 0 and moving variance 1 − ε gives (h − 0)/√(1 − ε + ε) = h; and ReLU(h) = h.
 */
function identityLayer(h: tf.SymbolicTensor, channels: number, name: string, identity: boolean): tf.SymbolicTensor {
  const conv = tf.layers.conv2d({
    filters: channels,
    kernelSize: 3,
    padding: 'same',
    useBias: false,
    kernelInitializer: 'heNormal',
    name: `${name}_conv`,
  });
  const bn = batchNormalization({ axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name: `${name}_bn` });
  const out = tf.layers.reLU({ name: `${name}_relu` }).apply(bn.apply(conv.apply(h))) as tf.SymbolicTensor;
  if (!identity) return out;
  const kernel = tf.tidy(() => {
    const delta = tf.buffer([3, 3, channels, channels]);
    for (let c = 0; c < channels; c++) delta.set(1, 1, 1, c, c);
    return delta.toTensor();
  });
  conv.setWeights([kernel]);
  kernel.dispose();
  const [gamma, beta, mean, variance] = [
    tf.ones([channels]),
    tf.zeros([channels]),
    tf.zeros([channels]),
    tf.fill([channels], 1 - BN_EPSILON),
  ];
  bn.setWeights([gamma, beta, mean, variance]);
  tf.dispose([gamma, beta, mean, variance]);
  return out;
}

/**
 * Build a deeper plain net that computes the same function as `shallow` (§1): every layer of
 * `shallow` copied with its weights and batch-norm statistics, plus `extraLayers` conv–BN–ReLU layers
 * initialised to the identity, placed after the last ReLU of each stage. At inference its
 * predictions equal the shallow net's (to float rounding), so its training loss is the same too.
 * The copy is independent: training it leaves `shallow` unchanged.
 *
 * In training mode, batch norm normalises with the statistics of the batch instead of the stored
 * ones, so the first training step already leaves the constructed solution; that is the point the
 * notebook makes: the solution exists, but the solver has to be able to stay near it.
 *
 * @example
 * ```ts
 * const deep = constructDeeper(shallow, { extraLayers: 12 }); // plain-8 → a plain net of 20 layers
 * ```
 */
export function constructDeeper(shallow: tf.LayersModel, options: ConstructOptions): tf.LayersModel {
  const { extraLayers } = options;
  if (!Number.isInteger(extraLayers) || extraLayers < 0) {
    throw new UsageError(`extraLayers must be a non-negative integer, got ${extraLayers}`);
  }
  const layers = chainLayers(shallow);
  const plan = insertionPlan(layers, extraLayers);
  const name = options.name ?? `${shallow.name}_plus${extraLayers}`;
  const inputShape = shallow.inputs[0]!.shape.slice(1) as number[];
  const input = tf.input({ shape: inputShape, name: `${name}_input` });
  let h = input;
  let added = 0;
  layers.forEach((layer, i) => {
    const Ctor = layer.constructor as unknown as LayerClass;
    const copy = new Ctor({ ...layer.getConfig(), name: `${name}_${layer.name}` });
    h = copy.apply(h) as tf.SymbolicTensor;
    copy.setWeights(layer.getWeights());
    for (let k = 0; k < (plan.get(i) ?? 0); k++) {
      const channels = h.shape[h.shape.length - 1];
      if (h.shape.length !== 4 || channels == null) {
        throw new UsageError(
          `constructDeeper can add identity convolutions only after a 4-D feature map; '${layer.name}' outputs [${h.shape.join(', ')}]`,
        );
      }
      added += 1;
      h = identityLayer(h, channels, `${name}_identity${added}`, options.identity ?? true);
    }
  });
  return tf.model({ inputs: input, outputs: h, name });
}
