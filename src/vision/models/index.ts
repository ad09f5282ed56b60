// Vision models: torchvision ResNets, CIFAR ResNets (option A) and the small MNIST networks.
// Their entries in nn.utils.fuse's table load with them.
import './resnet_fuse.js';
export {
  ResNet,
  BasicBlock,
  Bottleneck,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  type ResNetOptions,
  RESNET_WEIGHT_FILES,
  resnetWeightsPath,
  type ResNetWeights,
  type PretrainedResNetOptions,
  type ResNetFactory,
  type Block,
  type BlockClass,
} from './resnet.js';
export { quantizeResNet, QuantizedResNet } from './resnet_int8.js';
export {
  CifarResNet,
  CIFAR10_CLASSES,
  cifarResnet20,
  cifarResnet32,
  cifarResnet44,
  cifarResnet56,
  cifarResnet110,
} from './cifar_resnet.js';
export { MnistMLP, SimpleConvNet, DeepConvNet } from './mnist_nets.js';
export { CenterNet, CENTERNET_STRIDE, SIZE_SCALE, type CenterNetOutput } from './centernet.js';
export { UNet } from './unet.js';
