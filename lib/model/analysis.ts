/**
 * Looking inside a network: the gradient reaching each layer and the spread of each layer's
 * responses (§4.2, Fig. 7), for comparing a plain net with its residual twin.
 */
import * as tf from '@tensorflow/tfjs';

/** One layer's figure, in the order of depth. */
export interface LayerStat {
  /** Layer name. */
  layer: string;
  /** 1-based position among the layers measured (depth order). */
  index: number;
  /** The measured value. */
  value: number;
}

/** The 3×3 convolutions of a model in depth order (projection shortcuts excluded). */
function convLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() === 'Conv2D' && (l.getConfig().kernelSize as number[])[0] === 3);
}

/**
 * The L2 norm of the gradient of the softmax cross-entropy loss with respect to the kernel of each
 * 3×3 convolution, in depth order, for one batch (batch norm in training mode, as in a training
 * step). In a deep plain net at initialisation these can shrink or grow with depth; a residual net
 * carries gradient to every block through its shortcuts.
 *
 * @param model a net ending in logits
 * @param x a batch of inputs
 * @param labels integer class labels, one per input (an array, a typed array or a tensor)
 */
export function gradientNormsPerLayer(model: tf.LayersModel, x: tf.Tensor, labels: tf.Tensor1D | ArrayLike<number>): LayerStat[] {
  const convs = convLayers(model);
  const kernels = convs.map((l) => l.trainableWeights[0]!.read() as tf.Variable);
  return tf.tidy(() => {
    const y = tf.oneHot(
      tf.tensor1d(labels instanceof tf.Tensor ? labels.dataSync() : Array.from(labels), 'int32'),
      model.outputs[0]!.shape[1] as number,
    );
    const { grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      kernels,
    );
    return convs.map((l, i) => ({ layer: l.name, index: i + 1, value: tf.norm(grads[kernels[i]!.name]!).dataSync()[0]! }));
  });
}

/**
 * The standard deviation of each 3×3 layer's response: "the outputs of each 3×3 layer, after BN and
 * before other nonlinearity (ReLU/addition)" (§4.2, Fig. 7), in depth order. `training: false`
 * (default) normalises with the stored statistics, as at test time in the paper's figure.
 */
export function layerResponseStd(model: tf.LayersModel, x: tf.Tensor, options: { training?: boolean } = {}): LayerStat[] {
  const convs = new Set(convLayers(model).map((l) => l.name));
  // The batch norm right after each 3×3 convolution.
  const bns = model.layers.filter(
    (l) => l.getClassName() === 'BatchNormalization' && l.inboundNodes.some((n) => n.inboundLayers.some((p) => convs.has(p.name))),
  );
  const probe = tf.model({ inputs: model.inputs, outputs: bns.map((l) => l.output as tf.SymbolicTensor) });
  return tf.tidy(() => {
    const outs = probe.apply(x, { training: options.training ?? false }) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(outs) ? outs : [outs];
    return list.map((t, i) => ({ layer: bns[i]!.name, index: i + 1, value: tf.moments(t).variance.sqrt().dataSync()[0]! }));
  });
}

/**
 * Multiply-adds of one forward pass per image: every convolution (output pixels × kernel area ×
 * input channels × filters) and dense layer (inputs × units). Batch norm, ReLU and the additions
 * are left out (a few per cent of a ResNet's arithmetic). A training step does about three times
 * this: the forward pass and, backward, the gradients of the inputs and of the weights.
 */
export function multiplyAdds(model: tf.LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'Conv2D') {
      const [, oh, ow, cout] = layer.outputShape as number[];
      const cin = (layer.input as tf.SymbolicTensor).shape[3]!;
      const [kh, kw] = layer.getConfig().kernelSize as number[];
      total += oh! * ow! * kh! * kw! * cin * cout!;
    } else if (kind === 'Dense') {
      const [, units] = layer.outputShape as number[];
      const inputs = (layer.input as tf.SymbolicTensor).shape.at(-1)!;
      total += inputs * units!;
    }
  }
  return total;
}
