/**
 * ReLU's gradient from its output: ∂x = dy · [y > 0]. The numbers are tfjs's (y > 0 exactly where
 * x > 0), but the backward pass keeps the ReLU's output, which the next layer keeps anyway, instead
 * of its input (a batch norm's output, or a block's sum F(x) + x), which then nothing needs after
 * the forward pass: one activation fewer per ReLU held for the backward pass.
 */
import * as tf from '@tensorflow/tfjs';
import { RELU_GRAD, backendHas } from './kernel-names';

/** Register this as the gradient of the `Relu` kernel (all backends; idempotent). */
export function registerReluGradient(): void {
  tf.registerGradient({
    kernelName: 'Relu',
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as [tf.Tensor];
      // One pass where the backend has it (the wasm backend: lib/backend/kernels/ReluGrad.ts).
      if (backendHas(RELU_GRAD) && y.dtype === 'float32')
        return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, y }) as tf.Tensor };
      return { x: () => tf.mul(dy as tf.Tensor, tf.cast(tf.step(y), 'float32')) };
    },
  });
}
