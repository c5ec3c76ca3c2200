"""Text classification (fortune-cookie quotes by category): train briefly, export, serve without torch.

    python examples/classification.py [OUT_DIR]        # default OUT_DIR: examples/out

Writes OUT_DIR/fortunes.onnx (and fortunes-stream.onnx, for a running classification word by word), which the
JavaScript example reads too: node examples/node/classify.js examples/out/fortunes.onnx "a text" ...
"""
import sys
import tempfile
from pathlib import Path

import seqkit
from seqkit.training import TrainConfig, prepare, train

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out")
out.mkdir(parents=True, exist_ok=True)

# 1. train: a GRU over word embeddings, 3 short epochs on the built-in 'fortunes' data
prepared = prepare("gru", "classification", "fortunes", seqkit.CellConfig(hidden_size=32), {"pooling": "last"})
with tempfile.TemporaryDirectory() as run_dir:
    trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                    TrainConfig(epochs=3, lr=3e-3, progress=False), run_dir=run_dir)
print(f"trained: validation accuracy {trained.metrics['accuracy']:.2f} (majority baseline "
      f"{trained.baseline['accuracy']:.2f})")

# 2. export: verified against PyTorch; the streaming file also chunk by chunk
seqkit.export(trained.composition, out / "fortunes.onnx", force=True)
seqkit.export(trained.composition, out / "fortunes-stream.onnx", force=True, streaming=True)

# 3. serve: seqkit.runtime needs only numpy and onnxruntime (tokenizer, vocabulary and labels come from the file)
from seqkit.runtime import load  # noqa: E402

model = load(out / "fortunes.onnx")
texts = ["You will travel far and meet a stranger.", "The government is a tax on patience.",
         "Love is patient, love is kind."]
for text, result in zip(texts, model.predict(texts)):
    print(f"{result['label']:>10} {result['probability']:.2f}  {text}")

stream = load(out / "fortunes-stream.onnx").stream()  # the label so far, word by word
for word in texts[2].split():
    print(f"{word:>10} -> {stream.push(word)['label']}")
