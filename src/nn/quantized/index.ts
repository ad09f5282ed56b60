// nb.quantization: dynamic int8 quantization (torch.ao.quantization.quantize_dynamic), static
// post-training int8 quantization (prepare / calibrate / convert), and their modules.
export {
  quantizeDynamic,
  DynamicQuantizedLinear,
  DynamicQuantizedLSTM,
  DynamicQuantizedGRU,
  PackedLinearInt8,
  type QuantizeDynamicOptions,
  type DynamicQuantOptions,
} from './dynamic.js';
export type { ModuleClass } from '../utils/fuse.js';
export type { ActQParams } from '../../ops/quantized.js';
export {
  prepare,
  convert,
  quantizeStatic,
  ObservedLayer,
  QuantizedLinear,
  QuantizedConv2d,
  type ObserverFactory,
  type PrepareOptions,
  type QuantizeStaticOptions,
} from './static.js';
export { Observer, MinMaxObserver, MovingAverageMinMaxObserver, HistogramObserver } from './observer.js';
export {
  chooseQParams,
  quantizeSymmetricInt8,
  quantizeRowsInt8,
  quantizeInt4,
  dequantizeWeight,
  f32ToBf16,
  bf16ToF32,
  type QParams,
} from '../../util/quant.js';
