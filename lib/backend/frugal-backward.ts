/**
 * A backward pass that lets go of memory as it goes. TensorFlow.js's engine (tfjs-core 4.x,
 * `Engine.gradients` and `backpropagateGradients` in tape.ts) keeps every intermediate gradient,
 * and every tensor saved for the backward pass, until the whole backward pass is done, so a
 * training step peaks at all the saved activations plus a gradient for each of them. Walking the
 * tape from the loss down, a node's output gradients and its saved tensors are not needed once its
 * own gradient is computed (every consumer of its outputs came later in the tape and has been
 * visited): this version disposes them there. The numbers are the engine's, operation for
 * operation; only the moment tensors are released changes. Installed on the engine, it serves
 * `tf.variableGrads`, `tf.grads` and every optimiser's `minimize`; inside another gradient (second
 * derivatives), where the outer tape still needs those tensors, it defers to the original. With it
 * comes a leaner copy of the tensors kernels save for the backward pass (see leanSave), and
 * results that kernels may finish in the background while the pass goes on (deferred.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { type ReadingEngine, abandonUnread, installSettleOnRead, withDeferredResults } from './deferred';

type Tensor = tf.Tensor;

/** A node of the engine's tape (tfjs-core's `TapeNode`). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  gradient?: (dys: (Tensor | null)[]) => Record<string, () => Tensor>;
  saved?: Tensor[];
}

type Gradients = (
  f: () => Tensor,
  xs: Tensor[],
  dy?: Tensor,
  allowNoGradients?: boolean,
) => { value: Tensor; grads: (Tensor | undefined)[] };

/** The parts of tfjs-core's `Engine` this uses (not in its public typings). */
interface EngineInternals extends ReadingEngine {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  gradients: Gradients;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T>(nameOrFn: string | (() => T), fn?: () => T): T;
  saveTensorsForBackwardMode(tensors: Tensor[]): Tensor[];
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend: tf.KernelBackend): Tensor;
  keep<T extends Tensor>(t: T): T;
  backend: tf.KernelBackend;
  backendName: string;
  __residualOriginalGradients?: Gradients;
  __residualOriginalSave?: (tensors: Tensor[]) => Tensor[];
  __residualUninstallSettle?: () => void;
}

/**
 * The nodes on a path from `xs` to `y`, inputs pruned to those that depend on `xs`: tfjs-core's
 * `getFilteredNodesXToY` (tape.ts, Apache-2.0), which it does not export.
 */
function nodesFromXsToY(tape: readonly TapeNode[], xs: readonly Tensor[], y: Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      for (const o of node.outputs) fromX.add(o.id);
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const t of Object.values(node.inputs)) toY.add(t.id);
      nodesToY.add(node.id);
    }
  }
  return tape
    .filter((n) => nodesFromX.has(n.id) && nodesToY.has(n.id))
    .map((n) => ({ ...n, inputs: Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => fromX.has(t.id))) }));
}

/** One node's backward step: its inputs' gradients, added to what `acc` holds for them. */
function backpropNode(node: TapeNode, acc: Map<number, Tensor>, engine: EngineInternals): void {
  if (node.gradient == null) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
  const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
  const inputGradients = node.gradient(dys);
  for (const [name, x] of Object.entries(node.inputs)) {
    const gradOf = inputGradients[name];
    if (gradOf === undefined) throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}.`);
    const dx = engine.tidy(gradOf);
    if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}: '${name}' has dtype ${dx.dtype}`);
    if (!tf.util.arraysEqual(dx.shape, x.shape))
      throw new Error(`Error in gradient for op ${node.kernelName}: '${name}' has shape ${dx.shape}, its input ${x.shape}`);
    const sum = acc.get(x.id);
    if (sum === undefined) acc.set(x.id, dx);
    else {
      acc.set(x.id, tf.add(sum, dx));
      sum.dispose();
    }
  }
}

/** What a visited node no longer needs: its outputs' gradients (unless returned or passed on) and its saved tensors. */
function releaseNode(node: TapeNode, acc: Map<number, Tensor>, keep: ReadonlySet<number>): void {
  const done: Tensor[] = [];
  for (const o of node.outputs) {
    const dy = acc.get(o.id);
    if (dy === undefined || keep.has(o.id)) continue;
    acc.delete(o.id);
    done.push(dy);
  }
  const held = new Set(acc.values()); // a gradient may pass dy on unchanged (Identity, Add)
  for (const t of [...done, ...(node.saved ?? [])]) if (!held.has(t)) t.dispose();
}

/**
 * The engine's copies of the tensors a kernel saves for the backward pass
 * (`saveTensorsForBackwardMode`), made by the backend's Identity kernel but without the engine's
 * bookkeeping around it: tfjs makes each copy with `Engine.clone`, a kernel call and two tape
 * nodes (the Identity, and the clone's own gradient), about half the kernels of a ResNet training
 * step. Those nodes matter only where an outer tape differentiates the backward pass itself
 * (second derivatives): on the outermost tape (gradient depth 1) a saved copy is an input of no
 * recorded operation, so it is never on a path from xs to y, and a plain tensor on the same data
 * does. Deeper, the engine's own copies.
 */
function leanSave(this: EngineInternals, tensors: Tensor[]): Tensor[] {
  const identity = tf.getKernel('Identity', this.backendName);
  if (this.state.gradientDepth !== 1 || identity === undefined) return this.__residualOriginalSave!.call(this, tensors);
  return tensors.map((t) => {
    const info = identity.kernelFunc({ inputs: { x: t }, backend: this.backend, attrs: {} }) as tf.TensorInfo;
    return this.keep(this.makeTensorFromTensorInfo(info, this.backend));
  });
}

/** `Engine.gradients` with {@link releaseNode} after each node (see the module comment). */
function frugalGradients(this: EngineInternals, f: () => Tensor, xs: Tensor[], dy?: Tensor, allowNoGradients = false) {
  const original = this.__residualOriginalGradients!;
  if (this.state.gradientDepth > 0) return original.call(this, f, xs, dy, allowNoGradients); // a second derivative
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  // Some results finish in the background, some only when read (deferred.ts), forward and
  // backward: settled after the backward pass's tidy, so that those it disposed unread are never
  // computed.
  return withDeferredResults(() => {
    const y = this.scopedRun(
      () => this.startTape(),
      () => this.endTape(),
      () => this.tidy('forward', f),
    );
    abandonUnread(); // batch norm outputs that only a ReLU or F(x) + x read (pending-affine.ts)
    if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
    const tape = this.state.activeTape ?? [];
    const nodes = nodesFromXsToY(tape, xs, y);
    if (!allowNoGradients && nodes.length === 0)
      throw new Error(
        'Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.',
      );
    return this.tidy('backward', () => {
      const acc = new Map<number, Tensor>([[y.id, dy ?? tf.onesLike(y)]]);
      const keep = new Set(xs.map((x) => x.id));
      if (dy != null) keep.add(y.id); // the caller's
      for (let i = nodes.length - 1; i >= 0; i--) {
        backpropNode(nodes[i]!, acc, this);
        releaseNode(nodes[i]!, acc, keep);
        abandonUnread(); // what the node held (an Add keeps its inputs, a batch norm output among them)
      }
      const grads = xs.map((x) => acc.get(x.id));
      for (const node of tape) for (const t of node.saved ?? []) t.dispose(); // the nodes off the path
      this.state.activeTape = null;
      return { value: y, grads };
    });
  });
}

/**
 * Install the frugal backward pass on TensorFlow.js's engine (idempotent; every backend). Same
 * gradients, lower peak memory in training; see the module comment.
 */
export function installFrugalBackward(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.__residualOriginalGradients !== undefined) return;
  engine.__residualOriginalGradients = engine.gradients;
  engine.gradients = frugalGradients as Gradients;
  engine.__residualOriginalSave = engine.saveTensorsForBackwardMode;
  engine.saveTensorsForBackwardMode = leanSave;
  engine.__residualUninstallSettle = installSettleOnRead(engine);
}

/** Put TensorFlow.js's own backward pass back (for comparisons). */
export function uninstallFrugalBackward(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.__residualOriginalGradients === undefined) return;
  engine.gradients = engine.__residualOriginalGradients;
  delete engine.__residualOriginalGradients;
  if (engine.__residualOriginalSave !== undefined) engine.saveTensorsForBackwardMode = engine.__residualOriginalSave;
  delete engine.__residualOriginalSave;
  engine.__residualUninstallSettle?.();
  delete engine.__residualUninstallSettle;
}
