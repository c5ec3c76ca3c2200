#!/usr/bin/env bash
# The docs/tasks.md translation results: GRU and LSTM, additive attention or none, seeds 0 1 2 (seed-major, so that
# every configuration has a run before any has three), each trained, evaluated (BLEU, chrF, baselines, buckets),
# exported and decoded greedily and with beam 5 on the test split. Usage:
#   nice -n 10 benchmarks/translate_results.sh ../shared/data/tatoeba-eng-cmn/cmn.txt OUT_DIR
# (the docs' runs: CELLS=gru and CELLS=lstm side by side, each worker with OMP_NUM_THREADS=1)
# then: .venv/bin/python benchmarks/translate_summary.py OUT_DIR
set -eu
DATA=$1; OUT=$2; SEQKIT=${SEQKIT:-.venv/bin/seqkit}
# CAPS and SIZES default to the small runs; the full-data runs: CAPS= SIZES="--hidden-size 128 -T embedding_dim=128
# -T attention_size=128 --epochs 15 --patience 3 --batch-size 64 --lr 0.003" CELLS=gru
CAPS=${CAPS-"-T max_source_length=8 -T max_target_length=20 -T max_pairs=2000 -T buckets=[3,5,6]"}
SIZES=${SIZES-"--hidden-size 48 -T embedding_dim=48 -T attention_size=48 --epochs 5 --batch-size 64 --lr 0.005"}
mkdir -p "$OUT"
for seed in 0 1 2; do
  for cell in ${CELLS:-gru lstm}; do
    for attention in additive none; do
      name=$cell-$attention-seed$seed
      start=$(date +%s)
      if [ ! -s "$OUT/$name.eval.json" ]; then
        $SEQKIT train --task translation --cell "$cell" --data "$DATA" $CAPS $SIZES -T attention=$attention \
          --seed "$seed" --run-dir "$OUT/$name" > "$OUT/$name.train.log" 2>&1
        $SEQKIT evaluate "$OUT/$name" --json > "$OUT/$name.eval.json"
      fi
      if [ "$seed" = 0 ] && [ ! -s "$OUT/$name.beam.json" ]; then
        $SEQKIT export "$OUT/$name" -o "$OUT/$name.onnx" --force > /dev/null
        .venv/bin/python benchmarks/translate_beam.py "$OUT/$name" "$OUT/$name.onnx" > "$OUT/$name.beam.json"
      fi
      echo "$name $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
    done
  done
done
