/**
 * residual-learning: residual blocks, CIFAR ResNets and the tools of the course,
 * on TensorFlow.js (He et al., 2015, "Deep Residual Learning for Image Recognition").
 *
 * ```ts
 * import { useBestBackend, resnetCifar, tf } from 'residual-learning';
 * await useBestBackend();
 * const model = resnetCifar(20);
 * ```
 *
 * @packageDocumentation
 */
/** The TensorFlow.js namespace the library uses: import it from here so that there is one instance. */
export * as tf from '@tensorflow/tfjs';
export { useBestBackend, backendFromEnv, type BackendChoice, type BackendName, type BackendOptions } from './backend';
export {
  residualBlock,
  plainBlock,
  bottleneckBlock,
  shortcutBranch,
  type Shortcut,
  type BlockOptions,
  type BottleneckOptions,
} from './blocks';
export { ZeroPadShortcut, BN_MOMENTUM, BN_EPSILON } from './layers';
export {
  resnetCifar,
  plainCifar,
  cifarNetByName,
  cifarBlocksPerStage,
  CIFAR_STAGE_FILTERS,
  type CifarNetOptions,
} from './nets';
export {
  ResNet,
  type ResNetOptions,
  type PoolOptions,
  type InitBlockOptions,
  type TutorialBlockOptions,
} from './resnet';
export { UsageError } from './errors';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './backend/wasm-kernels';
