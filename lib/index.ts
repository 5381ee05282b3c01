/**
 * residual-learning: residual blocks, CIFAR ResNets and the tools of the course,
 * on TensorFlow.js (He et al., 2015, "Deep Residual Learning for Image Recognition").
 *
 * @packageDocumentation
 */
export * as tf from '@tensorflow/tfjs';
