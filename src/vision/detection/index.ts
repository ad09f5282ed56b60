// nb.vision.detection: composed Fashion-MNIST + digit scenes (boxes, labels, masks), a CenterNet
// detector (train, decode, save, load), COCO mAP, drawing boxes, and U-Net segmentation with mean IoU.
export {
  SCENE_CLASSES,
  NUM_SCENE_CLASSES,
  DIGIT_SPLIT,
  SCENE_FILES,
  defaultSceneRoot,
  sceneDataMissing,
  loadItems,
  makeScene,
  makeScenes,
  sceneBatch,
  semanticMaps,
  type ItemPool,
  type Scene,
  type SceneOptions,
  type SceneTarget,
} from './scenes.js';
export {
  meanAveragePrecision,
  meanIou,
  type Detections,
  type GroundTruth,
  type MapOptions,
  type MapResult,
} from './metrics.js';
export {
  gaussianRadius,
  centerNetTargets,
  centerNetLoss,
  decodeCenterNet,
  detect,
  evaluateDetector,
  trainDetector,
  saveDetector,
  loadDetector,
  defaultDetectorDir,
  type CenterNetTargets,
  type DecodeOptions,
  type TrainDetectorOptions,
  type DetectorResult,
  type LoadedDetector,
} from './centernet.js';
export { drawBoundingBoxes, PALETTE, type DrawBoxesOptions } from './draw.js';
export {
  segment,
  evaluateSegmenter,
  trainSegmenter,
  numSegmentationClasses,
  type SegmentationClasses,
  type TrainSegmenterOptions,
} from './segment.js';
export { trainOnScenes, type SceneTrainOptions } from './scene_training.js';
