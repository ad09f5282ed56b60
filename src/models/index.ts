// nb.models: causal language models (GPT-2, Llama) and the generation utilities they share.
// Their entries in nn.utils.fuse's table load with them.
import './gpt2_fuse.js';
import './llama_fuse.js';
export { GPT2Config, type GPT2ConfigOptions } from './gpt2_config.js';
export { GPT2LMHeadModel, GPT2Model, GPT2Block, GPT2Attention, GPT2MLP, Conv1D, type GPT2InitOptions } from './gpt2.js';
export {
  LlamaConfig,
  LlamaForCausalLM,
  LlamaModel,
  LlamaDecoderLayer,
  LlamaAttention,
  LlamaMLP,
  type LlamaConfigOptions,
} from './llama.js';
export {
  generate,
  sample,
  argmax,
  applyRepetitionPenalty,
  type CausalLM,
  type ForwardOptions,
  type OutputAttentionsOptions,
  type CausalLMOutput,
  type BaseModelOutput,
  type GenerateOptions,
  type Streamer,
  type Prompts,
} from './generation.js';
export { LMHead } from './lm_head.js';
export { KVCache, type KVCacheOptions } from './kv_cache.js';
export { readLlama2c, permuteRotary, type Llama2cHeader } from './llama2c.js';
export {
  trainGPT,
  gptLearningRate,
  lmLoss,
  loadCharVocab,
  type TrainGPTOptions,
  type TrainGPTResult,
  type EvalPoint,
} from './train_gpt.js';
export { AutoModelForCausalLM, AutoTokenizer } from './auto.js';
export {
  quantizeWeights,
  saveQuantized,
  loadQuantized,
  isQuantizedFolder,
  WeightOnlyLinear,
  type QuantizeWeightsOptions,
  type WeightBits,
  type QuantizableLM,
} from './quantize.js';
export {
  MatrixFactorization,
  GenreModel,
  HybridMF,
  NeuMF,
  genreFeatures,
  type PairScorer,
  type MatrixFactorizationOptions,
  type NeuMFOptions,
  type NCFBranches,
} from './recommender.js';
export {
  fitRatings,
  fitImplicit,
  fitNCF,
  ratingRMSE,
  scorePairs,
  ratedSets,
  ratedMovies,
  sampleTestNegatives,
  evaluateRanking,
  popularity,
  recommend,
  similarMovies,
  createRecommender,
  saveRecommender,
  loadRecommender,
  type FitRatingsOptions,
  type FitImplicitOptions,
  type FitNCFOptions,
  type FitCallbacks,
  type NCFResult,
  type RankingMetrics,
  type Recommendation,
  type RecommenderType,
  type FitHistory,
} from './recommender_train.js';
export { ConvVAE, vaeLoss, trainVAE, checkSampleCount, type ConvVAEConfig, type TrainImagesOptions } from './vae.js';
export {
  DCGANGenerator,
  DCGANDiscriminator,
  trainDCGAN,
  dcganInit,
  saveImageGenerator,
  loadImageGenerator,
  type DCGANConfig,
  type ImageGenerator,
} from './dcgan.js';
export {
  FIDClassifier,
  trainFIDClassifier,
  extractFeatures,
  featureStats,
  frechetDistance,
  fid,
  sqrtmPsd,
  symmetricEig,
  type FeatureStats,
} from './fid.js';
export {
  beamSearch,
  banRepeatedNgrams,
  type StepDecoder,
  type BeamSearchOptions,
  type BeamHypothesis,
} from './beam_search.js';
export {
  CharLSTM,
  trainCharLSTM,
  sampleCharLSTM,
  samplingProbs,
  windowLoss,
  loadCharLSTM,
  type CharLSTMConfig,
  type TrainCharLSTMOptions,
  type TrainCharLSTMResult,
  type SampleOptions,
} from './char_lstm.js';
export {
  TransformerSeq2Seq,
  LSTMSeq2Seq,
  generateSeq2Seq,
  banTokens,
  PAD_ID,
  BOS_ID,
  EOS_ID,
  UNK_ID,
  type Seq2SeqModel,
  type Seq2SeqGenerateOptions,
  type TransformerSeq2SeqConfig,
  type LSTMSeq2SeqConfig,
} from './seq2seq.js';
export {
  CharVocab,
  Translator,
  trainTranslator,
  evaluateTranslator,
  type TranslatorArch,
  type TranslationScores,
  type TrainTranslatorOptions,
  type TrainTranslatorResult,
  type TranslatorModel,
} from './translation.js';
