// nb.vision.ops: box and region ops as torchvision.ops (0.14): box formats and the IoU family, NMS,
// IoU losses and the focal loss, RoIAlign and RoIPool.
export {
  boxConvert,
  boxArea,
  boxIou,
  generalizedBoxIou,
  distanceBoxIou,
  completeBoxIou,
  clipBoxesToImage,
  removeSmallBoxes,
  masksToBoxes,
  checkBoxes,
  type BoxFormat,
} from './boxes.js';
export { nms, batchedNms } from './nms.js';
export {
  generalizedBoxIouLoss,
  distanceBoxIouLoss,
  completeBoxIouLoss,
  sigmoidFocalLoss,
  type BoxLossOptions,
  type BoxLossReduction,
  type FocalLossOptions,
} from './losses.js';
export { roiAlign, roiPool, RoIAlign, RoIPool, type Rois, type RoiAlignOptions } from './roi.js';
