/**
 * A model's topology as a checkpoint records it, so that a run never continues on another
 * architecture: one line per layer (its class, the settings that shape its computation, and the
 * layers it reads), and a fingerprint of those lines. Layer names, initialisers, regularisers and
 * constraints are left out: they do not change what a trained net computes.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { UsageError } from '../util/errors';

interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

const IGNORED = /^(name|trainable|dtype)$|_(initializer|regularizer|constraint)$/;

function layersOf(topology: unknown): LayerJson[] {
  const t = topology as { model_config?: { config?: { layers?: unknown } }; config?: { layers?: unknown } } | null;
  // model.json's modelTopology nests the model under model_config; model.toJSON() does not.
  const layers = t?.model_config?.config?.layers ?? t?.config?.layers;
  if (!Array.isArray(layers)) throw new UsageError('the saved model has no layer list (not a layers model)');
  return layers as LayerJson[];
}

/** Inbound layer names of a layer, in order (tfjs: nodes of [layerName, nodeIndex, tensorIndex, kwargs]). */
function inboundNames(layer: LayerJson): string[] {
  const names: string[] = [];
  for (const node of layer.inbound_nodes ?? []) {
    for (const edge of node as unknown[]) if (Array.isArray(edge) && typeof edge[0] === 'string') names.push(edge[0]);
  }
  return names;
}

/**
 * The topology of a layers model (a `model.toJSON(null, false)` object, or a saved
 * `modelTopology`) as one line per layer, e.g.
 * `#4 Conv2D {"filters":16,"kernel_size":[3,3],"padding":"same","strides":[1,1],…} ← #3`.
 */
export function topologyLines(topology: unknown): string[] {
  const layers = layersOf(topology);
  const index = new Map(layers.map((l, i) => [l.name, i]));
  return layers.map((l, i) => {
    const settings = Object.keys(l.config)
      .filter((k) => !IGNORED.test(k))
      .sort()
      .map((k) => `${JSON.stringify(k)}:${JSON.stringify(l.config[k])}`);
    const inputs = inboundNames(l).map((n) => `#${index.get(n) ?? n}`);
    return `#${i} ${l.class_name} {${settings.join(',')}}${inputs.length > 0 ? ` ← ${inputs.join(', ')}` : ''}`;
  });
}

/** {@link topologyLines} of a model. */
export function modelTopologyLines(model: tf.LayersModel): string[] {
  return topologyLines(model.toJSON(null, false));
}

/** A short fingerprint of a model's topology (16 hex digits of the SHA-256 of its {@link topologyLines}). */
export function topologyFingerprint(model: tf.LayersModel): string {
  return createHash('sha256').update(modelTopologyLines(model).join('\n')).digest('hex').slice(0, 16);
}

/**
 * What differs between a saved topology and a model's, in a few words, or undefined when they are
 * the same: the layer counts, else the first layer that differs.
 */
export function topologyDifference(saved: string[], current: string[]): string | undefined {
  const first = saved.findIndex((line, i) => line !== current[i]);
  if (first === -1 && saved.length === current.length) return undefined;
  const counts = saved.length !== current.length ? `${saved.length} layers saved, the model has ${current.length}; ` : '';
  const i = first === -1 ? Math.min(saved.length, current.length) : first;
  return `${counts}layer ${i} was ${saved[i] ?? '(none)'}, the model's is ${current[i] ?? '(none)'}`;
}

/**
 * Refuse to put weights saved from one topology into a model of another: a `UsageError` naming
 * `where` (the run or checkpoint folder) and the first difference.
 */
export function checkSameTopology(savedTopology: unknown, model: tf.LayersModel, where: string): void {
  const diff = topologyDifference(topologyLines(savedTopology), modelTopologyLines(model));
  if (diff !== undefined) {
    throw new UsageError(`${where} was trained on another architecture than this model's (${diff}); train it anew in another folder`);
  }
}
