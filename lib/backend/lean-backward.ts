/**
 * What this library changes in TensorFlow.js's backward pass to hold less memory and take less
 * time in training, numbers unchanged: ReLU's gradient from its output (relu-gradient.ts), Mean's
 * by a broadcast (mean-gradient.ts), and a backward pass that releases each node's gradients and
 * saved tensors once it is past them (frugal-backward.ts).
 */
import { installFrugalBackward } from './frugal-backward';
import { registerMeanGradient } from './mean-gradient';
import { registerReluGradient } from './relu-gradient';

/** Install them (idempotent, every backend): `useBestBackend` and `train` call it. */
export function installLeanBackward(): void {
  registerReluGradient();
  registerMeanGradient();
  installFrugalBackward();
}
