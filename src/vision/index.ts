// nb.vision: images (decode, encode), torchvision-style transforms, ImageFolder, ImageNet class names.
export { Image, decodeImage, readImage, encodePng, MAX_IMAGE_PIXELS, type ImageMode } from './image.js';
export { makeGrid, saveImage, toImage, type MakeGridOptions } from './utils.js';
/** torchvision.transforms: Compose, Resize, CenterCrop, ToTensor, Normalize, random augmentations; callable as functions or modules. */
export * as transforms from './transforms.js';
export { ImageFolder, IMG_EXTENSIONS, type ImageFolderOptions } from './image_folder.js';
export { IMAGENET_CLASSES } from './imagenet_classes.js';
/** torchvision.models: ResNet-18...152 (`{weights: 'IMAGENET1K_V1'}`), CIFAR ResNets, small MNIST networks. */
export * as models from './models/index.js';
export {
  loadClassifier,
  classifyImages,
  toTorchvisionNames,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type Prediction,
} from './classify.js';
export * as ops from './ops/index.js';
export * as detection from './detection/index.js';
