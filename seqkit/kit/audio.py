"""The speech front end (PCM WAV -> log-mel frames), numpy only.

It lives in :mod:`seqkit.runtime.audio`, because serving needs it without torch; tasks and scripts import it
from here as before.
"""
from seqkit.runtime.audio import FrontEnd, log_mel, mel_filterbank, read_wav, wav_features, wav_folder

__all__ = ["FrontEnd", "log_mel", "mel_filterbank", "read_wav", "wav_features", "wav_folder"]
