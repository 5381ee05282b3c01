/**
 * Stochastic gradient descent with momentum in PyTorch's formulation (`torch.optim.SGD`), which the
 * paper's Caffe solver also uses (§3.4: "SGD with a mini-batch size of 256 … weight decay of 0.0001
 * and a momentum of 0.9"; §4.2: mini-batch 128 on CIFAR-10):
 *
 *     g ← ∇w + λ·w          (weight decay, coupled: L2 added to the gradient)
 *     v ← μ·v + g           (momentum buffer; v = g at the first step)
 *     w ← w − lr·v
 *
 * TensorFlow.js's `tf.train.momentum` accumulates the same v but has no weight decay and takes the
 * rate at construction; this optimiser takes the rate per step (for schedules) and can save and
 * restore its momentum buffers for checkpoints.
 */
import * as tf from '@tensorflow/tfjs';
import { SGD_STEP, backendHas } from '../backend/kernel-names';
import { UsageError } from '../util/errors';

/** Which parameters weight decay applies to. */
export type WeightDecayScope =
  /** Every trainable weight, BN γ/β and biases included: what `torch.optim.SGD(m.parameters(), weight_decay=…)` does in the reference. */
  | 'all'
  /** Convolution and dense kernels only (a common variant). */
  | 'kernels';

/** Options of {@link SgdMomentum}. */
export interface SgdOptions {
  /** Momentum μ, default 0.9 (§3.4). */
  momentum?: number;
  /** Weight decay λ, default 1e-4 (§3.4, §4.2). */
  weightDecay?: number;
  /** Parameters λ applies to, default `'all'` (parity with the PyTorch reference). */
  weightDecayScope?: WeightDecayScope;
}

/** The momentum buffers of an optimiser, by variable name, as plain arrays (for checkpoints). */
export interface SgdState {
  /** Steps taken. */
  iterations: number;
  /** One entry per trainable variable that has a buffer. */
  buffers: { name: string; shape: number[]; values: Float32Array }[];
}

/** True for the variables weight decay applies to under `scope`. */
export function decays(variableName: string, scope: WeightDecayScope): boolean {
  if (scope === 'all') return true;
  return /(^|\/)(kernel|depthwise_kernel|pointwise_kernel)(_\d+)?$/.test(variableName);
}

/** SGD with momentum and coupled weight decay, PyTorch's formulation (see the module comment). */
export class SgdMomentum {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly weightDecayScope: WeightDecayScope;
  private readonly buffers = new Map<string, tf.Variable>();
  private iterationCount = 0;

  constructor(options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0.9;
    this.weightDecay = options.weightDecay ?? 1e-4;
    this.weightDecayScope = options.weightDecayScope ?? 'all';
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new UsageError(`momentum must be in [0, 1), got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new UsageError(`weight decay must be ≥ 0, got ${this.weightDecay}`);
    if (this.weightDecayScope !== 'all' && this.weightDecayScope !== 'kernels') {
      throw new UsageError(`weight decay scope must be 'all' or 'kernels', got '${String(this.weightDecayScope)}'`);
    }
  }

  /** Steps taken so far. */
  get iterations(): number {
    return this.iterationCount;
  }

  /**
   * One update of `variables` with their gradients `grads` (by variable name) at rate `lr`.
   * Gradients are not disposed here.
   */
  applyGradients(variables: readonly tf.Variable[], grads: Record<string, tf.Tensor>, lr: number): void {
    // One kernel per variable where the backend has it (the wasm backend: the same float32
    // operations in one pass), else six tfjs ops.
    const fused = backendHas(SGD_STEP);
    tf.tidy(() => {
      for (const w of variables) {
        const g0 = grads[w.name];
        if (g0 === undefined) continue;
        const decay = this.weightDecay > 0 && decays(w.name, this.weightDecayScope) ? this.weightDecay : 0;
        let v = this.buffers.get(w.name);
        if (fused && w.dtype === 'float32') {
          const inputs: tf.NamedTensorMap = v === undefined ? { w, g: g0 } : { w, g: g0, v };
          const attrs = { lr, momentum: this.momentum, weightDecay: decay };
          const [w2, v2] = tf.engine().runKernel(SGD_STEP, inputs, attrs) as tf.Tensor[];
          if (v === undefined) this.buffers.set(w.name, tf.variable(v2, false));
          else v.assign(v2);
          w.assign(w2);
          continue;
        }
        const g = decay > 0 ? tf.add(g0, tf.mul(w, decay)) : g0;
        if (v === undefined) {
          // PyTorch: buf = clone(g) at the first step.
          v = tf.variable(g, false);
          this.buffers.set(w.name, v);
        } else {
          v.assign(tf.add(tf.mul(v, this.momentum), g));
        }
        w.assign(tf.sub(w, tf.mul(v, lr)));
      }
    });
    this.iterationCount += 1;
  }

  /** A copy of the momentum buffers (for a checkpoint). */
  async getState(): Promise<SgdState> {
    const buffers: SgdState['buffers'] = [];
    for (const [name, v] of this.buffers) {
      buffers.push({ name, shape: v.shape.slice(), values: (await v.data()) as Float32Array });
    }
    return { iterations: this.iterationCount, buffers };
  }

  /** Replace the momentum buffers by those of `state` (from {@link getState} or a checkpoint). */
  setState(state: SgdState): void {
    this.disposeBuffers();
    for (const b of state.buffers) {
      const size = b.shape.reduce((a, c) => a * c, 1);
      if (b.values.length !== size) {
        throw new Error(`momentum buffer '${b.name}' has ${b.values.length} values for shape [${b.shape.join(', ')}]`);
      }
      this.buffers.set(b.name, tf.variable(tf.tensor(b.values, b.shape, 'float32'), false));
    }
    this.iterationCount = state.iterations;
  }

  private disposeBuffers(): void {
    for (const v of this.buffers.values()) v.dispose();
    this.buffers.clear();
  }

  /** Free the momentum buffers. */
  dispose(): void {
    this.disposeBuffers();
  }
}
