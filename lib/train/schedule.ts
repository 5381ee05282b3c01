/**
 * Learning-rate schedules, as functions of the optimisation step (0-based: the rate used by the
 * step that is about to run).
 *
 * - {@link stepSchedule}: the paper's schedule (§4.2): "start with a learning rate of 0.1, divide it
 *   by 10 at 32k and 48k iterations, and terminate training at 64k iterations".
 * - {@link cosineSchedule}: PyTorch's `CosineAnnealingLR(opt, T_max=totalSteps)` stepped once per
 *   iteration, as the PyTorch reference trainer does.
 * - {@link WarmupOptions}: the warm-up of §4.2 ("0.01 to warm up the training until the training
 *   error is below 80% (about 400 iterations), and then go back to 0.1"), which the paper uses for
 *   ResNet-110 and chapter 2's depth experiments for every net.
 */
import { UsageError } from '../util/errors';

/** A learning rate for each step: `lr(step)` with step counted from 0 over the whole run. */
export type Schedule = (step: number) => number;

/** The schedules the CLI knows by name. */
export type ScheduleName = 'cosine' | 'step';

/** The paper's iteration counts (§4.2). */
export const PAPER_MILESTONES = [32000, 48000] as const;
/** The paper's total iterations (§4.2). */
export const PAPER_TOTAL_STEPS = 64000;

function checkLr(lr: number): void {
  if (!(Number.isFinite(lr) && lr > 0)) throw new UsageError(`learning rate must be a positive number, got ${lr}`);
}

function checkTotal(totalSteps: number): void {
  if (!(Number.isInteger(totalSteps) && totalSteps > 0)) {
    throw new UsageError(`total steps must be a positive integer, got ${totalSteps}`);
  }
}

/** Options of {@link stepSchedule}. */
export interface StepScheduleOptions {
  /** Initial rate, default 0.1 (§4.2). */
  lr?: number;
  /**
   * Steps at which the rate is divided by `factor`. Default: the paper's 32k and 48k when
   * `totalSteps` is 64k, else the same fractions (1/2 and 3/4) of `totalSteps`.
   */
  milestones?: readonly number[];
  /** Total steps of the run (used for the default milestones), default 64000. */
  totalSteps?: number;
  /** Divisor at each milestone, default 10. */
  factor?: number;
}

/**
 * The paper's step schedule (§4.2): 0.1, then ÷10 at 32k and 48k of 64k iterations.
 * For shorter runs the milestones scale with `totalSteps` (at 1/2 and 3/4 of the run).
 *
 * @example `stepSchedule()(32000) === 0.01`
 */
export function stepSchedule(options: StepScheduleOptions = {}): Schedule {
  const lr = options.lr ?? 0.1;
  checkLr(lr);
  const total = options.totalSteps ?? PAPER_TOTAL_STEPS;
  checkTotal(total);
  const factor = options.factor ?? 10;
  const milestones = [...(options.milestones ?? PAPER_MILESTONES.map((m) => Math.round((m / PAPER_TOTAL_STEPS) * total)))];
  return (step: number) => {
    let r = lr;
    for (const m of milestones) if (step >= m) r /= factor;
    return r;
  };
}

/** Options of {@link cosineSchedule}. */
export interface CosineScheduleOptions {
  /** Initial rate, default 0.1. */
  lr?: number;
  /** Steps of the whole run (PyTorch's `T_max`). */
  totalSteps: number;
  /** Final rate (PyTorch's `eta_min`), default 0. */
  minLr?: number;
}

/**
 * Cosine annealing per step, as PyTorch's `CosineAnnealingLR(opt, T_max=totalSteps)` with
 * `sched.step()` after every iteration: lr(t) = minLr + (lr − minLr)·(1 + cos(πt/T))/2.
 *
 * @example `cosineSchedule({ totalSteps: 100 })(50) === 0.05`
 */
export function cosineSchedule(options: CosineScheduleOptions): Schedule {
  const lr = options.lr ?? 0.1;
  checkLr(lr);
  checkTotal(options.totalSteps);
  const min = options.minLr ?? 0;
  const T = options.totalSteps;
  return (step: number) => min + ((lr - min) * (1 + Math.cos((Math.PI * Math.min(step, T)) / T))) / 2;
}

/** The schedule called `name` over a run of `totalSteps` steps starting at `lr`. */
export function scheduleByName(name: string, lr: number, totalSteps: number): Schedule {
  if (name === 'cosine') return cosineSchedule({ lr, totalSteps });
  if (name === 'step') return stepSchedule({ lr, totalSteps });
  throw new UsageError(`schedule '${name}' is not a schedule: use 'cosine' or 'step'`);
}

/**
 * Warm-up of §4.2 (the paper's for ResNet-110): train at `lr` until the training error (the mean of
 * the last 10 steps) falls below `untilTrainErr`, or `maxSteps` steps have run; then follow the schedule.
 */
export interface WarmupOptions {
  /** Warm-up rate, default 0.01. */
  lr?: number;
  /** Leave warm-up when the running training error is below this, default 0.8. */
  untilTrainErr?: number;
  /** Leave warm-up after this many steps at most, default 400. */
  maxSteps?: number;
}
