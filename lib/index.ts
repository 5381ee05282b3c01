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
export {
  useBestBackend,
  backendFromEnv,
  wasmThreadsFromEnv,
  type BackendChoice,
  type BackendName,
  type BackendOptions,
} from './backend/best-backend';
export {
  residualBlock,
  plainBlock,
  bottleneckBlock,
  shortcutBranch,
  type Shortcut,
  type BlockOptions,
  type BottleneckOptions,
} from './model/blocks';
export { ZeroPadShortcut, BN_MOMENTUM, BN_EPSILON } from './model/layers';
export { BATCH_NORM_GRAD, BATCH_NORM_MOMENTS, MOVING_AVERAGE, BatchNormalization, batchNormalization } from './model/batch-norm';
export {
  resnetCifar,
  plainCifar,
  cifarNetByName,
  parseCifarNetName,
  cifarBlocksPerStage,
  CIFAR_STAGE_FILTERS,
  type CifarNetOptions,
} from './model/nets';
export {
  ResNet,
  tutorialResNet,
  type ResNetOptions,
  type PoolOptions,
  type InitBlockOptions,
  type TutorialBlockOptions,
} from './model/resnet';
export { UsageError } from './util/errors';
export { initializeWeights, INIT_SCHEMES, type InitScheme, type InitOptions } from './model/init';
export {
  stepSchedule,
  cosineSchedule,
  scheduleByName,
  PAPER_MILESTONES,
  PAPER_TOTAL_STEPS,
  type Schedule,
  type ScheduleName,
  type StepScheduleOptions,
  type CosineScheduleOptions,
  type WarmupOptions,
} from './train/schedule';
export { SgdMomentum, decays, type SgdOptions, type SgdState, type WeightDecayScope } from './train/sgd';
export {
  train,
  trainStep,
  TrainingDivergedError,
  type TrainData,
  type TrainOptions,
  type TrainCallbacks,
  type StepInfo,
} from './train/trainer';
export {
  evaluate,
  predict,
  confusionMatrix,
  batchLossAndCorrect,
  type EvalResult,
  type EvaluateOptions,
  type Predictions,
} from './train/evaluate';
export { historyFrame, historyCsv, writeHistoryCsv, readHistoryCsv, HISTORY_COLUMNS, type HistoryRow } from './train/history';
export { ProgressBar, formatProgress, formatDuration, type ProgressInfo, type ProgressMode, type ProgressOptions } from './train/progress';
export {
  fileModelHandler,
  saveModel,
  loadModel,
  saveCheckpoint,
  loadCheckpoint,
  restoreCheckpoint,
  checkCheckpointTopology,
  latestCheckpointDir,
  MODEL_JSON,
  WEIGHTS_BIN,
  type FileModelHandler,
  type Checkpoint,
  type CheckpointState,
} from './train/checkpoint';
export { topologyFingerprint, topologyLines, modelTopologyLines, topologyDifference, checkSameTopology } from './train/topology';
export { displayBundle, newLiveDisplay, insideTslab, bundleText, escapeHtml, type MimeBundle, type LiveDisplay } from './notebook/display';
export {
  show,
  figureBundle,
  figureHtml,
  figureStaticImg,
  figureText,
  liveFigure,
  plotlyJs,
  plotlyScriptTag,
  PLOTLY_MIME,
  PLOTLY_SCRIPT_ATTRIBUTE,
  type Figure,
  type Trace,
  type LiveFigure,
} from './notebook/plots/figure';
export { trainingCurves, type TrainingRow, type TrainingCurvesOptions } from './notebook/plots/training-curves';
export { bars, lines, type BarsOptions, type LinesOptions, type LineSeries, type ChartOptions } from './notebook/plots/charts';
export { heatmap, type HeatmapOptions } from './notebook/plots/heatmap';
export { imageGrid, composeGrid, type ImageGridOptions, type ImageGridPicture } from './notebook/plots/image-grid';
export { encodePng } from './notebook/plots/png';
export { showTable, tableBundle, type TableLike, type TableRecords, type TableOptions } from './notebook/plots/table';
export { PALETTE } from './notebook/plots/palette';
export { figureSvg, niceTicks } from './notebook/plots/svg';
export { constructDeeper, type ConstructOptions } from './model/construct';
export {
  loadCifar10,
  loadCifar10Split,
  loadCifar10ClassNames,
  channelStats,
  CIFAR10_CLASSES,
  CIFAR10_TRAIN_FILES,
  CIFAR10_TEST_FILES,
  RECORD_BYTES,
  type Cifar10,
  type Cifar10Split,
  type ChannelStats,
} from './data/cifar10';
export { batches, batchCount, type Batch, type BatchOptions } from './data/batches';
export { fillImage, drawAugment, normalisationTable, NO_AUGMENT, PAD, IMAGE_SIZE, IMAGE_VALUES, type AugmentParams } from './data/augment';
export { Rng, mixSeed, permutation } from './data/random';
export {
  downloadCifar10,
  CIFAR10_URL,
  CIFAR10_MD5,
  CIFAR10_BYTES,
  CIFAR10_DEFAULT_DIR,
  type DownloadOptions,
  type DownloadResult,
} from './data/download';
export { extractTarGz } from './data/tar';
export { gradientNormsPerLayer, layerResponseStd, multiplyAdds, type LayerStat } from './model/analysis';
export {
  quickMode,
  findCifar10,
  findOrDownloadCifar10,
  loadCourseData,
  courseDataDir,
  CIFAR10_SAMPLE_DIR,
  type DataLocation,
  type CourseData,
  type CourseDataOptions,
} from './course/course-data';
export {
  depthExperimentEpochs,
  depthExperimentPlan,
  type DepthRunGroup,
  trainDepthNet,
  depthNet,
  depthNetLabel,
  depthRunDir,
  depthRunConfig,
  collectDepthRuns,
  depthLayerResponses,
  netLayerResponses,
  DEPTH_EXPERIMENT_MODELS,
  RUNS_DIR,
  type DepthRun,
  type DepthRunOptions,
  type DepthRunRow,
  type LayerResponseRow,
} from './course/experiments';
export {
  finalErrors,
  firstEpochBelow,
  compareNets,
  describeComparison,
  layerResponsesFigure,
  budgetGapsFigure,
  FIG6_GAPS,
  type FinalErrors,
  type RunStart,
  type Comparison,
} from './course/degradation';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './backend/kernels/register-all';
export { registerReluGradient } from './backend/relu-gradient';
export { registerMeanGradient } from './backend/mean-gradient';
export { installFrugalBackward, uninstallFrugalBackward } from './backend/frugal-backward';
export { installLeanBackward } from './backend/lean-backward';
export { useWasmThreads, wasmThreadsCount } from './backend/wasm-threads';
export { resultsFile, writeResults, readResults, mergeResults, mergeCsv } from './course/results';
