// The seed's language-model example: load GPT-2 from a Hugging Face folder, generate, decode.
//   npm run build && node dist/examples/generate.js path/to/gpt2-folder "Once upon a time"
// With a llama2.c checkpoint instead (the real stories260K model in ../shared/data):
//   node dist/examples/generate.js ../shared/data/stories260K.bin "Once upon a time" ../shared/data/tok512.bin
import * as nb from 'nabla';

const [
  path = '../shared/data/stories260K.bin',
  prompt = 'Once upon a time',
  tokenizerFile = '../shared/data/tok512.bin',
] = process.argv.slice(2);

if (path.endsWith('.bin')) {
  const model = nb.models.LlamaForCausalLM.fromLlama2c(path);
  const tokenizer = nb.text.LlamaTokenizer.fromLlama2c(tokenizerFile);
  const output = model.generate(tokenizer.encode(prompt), {
    maxNewTokens: 100,
    doSample: true,
    temperature: 0.8,
    topP: 0.9,
    seed: 1,
  });
  console.log(tokenizer.decode(output[0]));
} else {
  const dir = path;
  const model = await nb.models.GPT2LMHeadModel.fromPretrained(dir);
  const tokenizer = await nb.text.GPT2Tokenizer.fromPretrained(dir);
  const inputIds = tokenizer.encode(prompt);
  const output = model.generate(inputIds, { maxLength: 50, numReturnSequences: 1 });
  const text = tokenizer.decode(output[0], { skipSpecialTokens: true });
  console.log(text);
}
