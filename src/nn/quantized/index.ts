// nb.quantization: dynamic int8 quantization (torch.ao.quantization.quantize_dynamic) and its modules.
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
