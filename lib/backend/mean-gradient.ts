/**
 * Mean's gradient by a broadcast: ∂x = dy / n over the reduced axes, as tfjs computes it, but
 * without the tensor of ones it builds for it in JavaScript element by element (tfjs-core's
 * meanGradConfig: dy · ones(x.shape) / n). A ResNet's global average pooling is such a mean; its
 * input is [N, 8, 8, 64] on CIFAR-10, half a million ones a training step. The numbers are tfjs's:
 * dy · 1 is dy.
 */
import * as tf from '@tensorflow/tfjs';

/** Register this as the gradient of the `Mean` kernel (all backends; idempotent). */
export function registerMeanGradient(): void {
  tf.registerGradient({
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const n = axes.reduce((p, a) => p * x.shape[a]!, 1);
      return { x: () => tf.div(tf.broadcastTo(tf.reshape(dy as tf.Tensor, kept), x.shape), n) };
    },
  });
}
