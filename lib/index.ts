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
export { displayBundle, newLiveDisplay, insideTslab, bundleText, escapeHtml, type MimeBundle, type LiveDisplay } from './display';
export {
  show,
  figureBundle,
  figureHtml,
  figureText,
  liveFigure,
  plotlyJs,
  plotlyScriptTag,
  PLOTLY_MIME,
  PLOTLY_SCRIPT_ATTRIBUTE,
  type Figure,
  type Trace,
  type LiveFigure,
} from './plots/figure';
export { trainingCurves, type TrainingRow, type TrainingCurvesOptions } from './plots/training-curves';
export { bars, lines, type BarsOptions, type LinesOptions, type LineSeries, type ChartOptions } from './plots/charts';
export { heatmap, type HeatmapOptions } from './plots/heatmap';
export { imageGrid, composeGrid, type ImageGridOptions, type ImageGridPicture } from './plots/image-grid';
export { encodePng } from './plots/png';
export { showTable, tableBundle, type TableLike, type TableRecords, type TableOptions } from './plots/table';
export { PALETTE } from './plots/palette';
export { constructDeeper, type ConstructOptions } from './construct';
export { gradientNormsPerLayer, layerResponseStd, type LayerStat } from './analysis';
export { quickMode, findCifar10, type DataLocation } from './course';
