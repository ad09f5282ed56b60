// nb.tensorboard: SummaryWriter (torch.utils.tensorboard) writing TensorBoard event files.
//   const w = new nb.tensorboard.SummaryWriter('runs/exp1'); w.addScalar('loss', 0.5, step); w.close();
export { SummaryWriter } from './writer.js';
export { crc32c, maskedCrc32c, tfRecord } from './proto.js';
export { TensorBoard, type TensorBoardOptions } from './callback.js';
