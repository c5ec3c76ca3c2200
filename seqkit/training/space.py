"""The search space of ``seqkit tune``: ``--param NAME=SPEC`` parsed into :class:`Param` (torch- and optuna-free).

SPEC is one of::

    int:16..128          an integer in [16, 128]      int:16..128:log (log scale), int:1..4:step=1
    float:1e-4..1e-2     a number in [1e-4, 1e-2]     float:1e-4..1e-2:log, float:0..0.5:step=0.1
    choice:gru,lstm      one of the listed values (read by the option's declared type)

NAME is a model or training option by its ``seqkit train`` name (``hidden_size`` or ``hidden-size``, ``lr``,
``cell``...), ``T.KEY`` for a task option (``-T KEY=...``) and ``O.KEY`` for a cell option (``-O KEY=...``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from seqkit.errors import ConfigError

#: model options that a trial may set, with the type of their value
MODEL = {"cell": str, "hidden_size": int, "num_layers": int, "bidirectional": bool, "dropout": float}
#: training options that a trial may set (TrainConfig fields)
TRAINING = {"lr": float, "batch_size": int, "weight_decay": float, "epochs": int, "patience": int,
            "clip_norm": float, "lr_schedule": str, "plateau_patience": int, "select": str}
EXAMPLE = "e.g. --param hidden_size=int:16..128:log, --param lr=float:1e-4..1e-2:log, --param cell=choice:gru,lstm"


@dataclass(frozen=True)
class Param:
    name: str                        # hidden_size, lr, T.pooling, O.nonlinearity
    kind: str                        # "int", "float" or "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    @property
    def section(self) -> str:
        """Where the value goes: "model", "training", "task" or "cell" (options)."""
        if self.name.startswith("T."):
            return "task"
        if self.name.startswith("O."):
            return "cell"
        return "model" if self.name in MODEL else "training"

    @property
    def key(self) -> str:
        """The option's own name (``pooling`` for ``T.pooling``)."""
        return self.name[2:] if self.section in ("task", "cell") else self.name

    def describe(self) -> str:
        if self.kind == "choice":
            return f"{self.name} in {{{', '.join(map(str, self.choices))}}}"
        extra = " log" if self.log else (f" step {self.step:g}" if self.step else "")
        return f"{self.name} {self.kind} {self.low:g}..{self.high:g}{extra}"


def _name(text: str) -> str:
    name = text.strip()
    if name[:2] in ("T.", "O."):
        if not name[2:]:
            raise ConfigError(f"--param {text!r}: give the option's key after {name[:2]}, e.g. T.pooling")
        return name
    name = name.replace("-", "_")
    if name not in MODEL and name not in TRAINING:
        known = ", ".join([*MODEL, *TRAINING])
        raise ConfigError(f"--param {text!r}: unknown option; choose one of {known}, or T.KEY (task option) or "
                          f"O.KEY (cell option)")
    return name


def _number(text: str, kind: str, where: str) -> float:
    try:
        value = float(text) if kind == "float" else int(text)
    except ValueError:
        raise ConfigError(f"--param {where}: {text!r} is not {'a number' if kind == 'float' else 'an integer'}; "
                          f"{EXAMPLE}") from None
    if not math.isfinite(value):
        raise ConfigError(f"--param {where}: {text!r} is not a finite number")
    return value


def _choice(name: str, text: str, where: str):
    """A choice value read by the option's declared type (task and cell options keep their text)."""
    kind = MODEL.get(name, TRAINING.get(name, str))
    if kind is bool:
        low = text.lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0"):
            return False
        raise ConfigError(f"--param {where}: {text!r} is not true or false")
    if kind in (int, float):
        return _number(text, "float" if kind is float else "int", where)
    return text


def parse_param(text: str) -> Param:
    """``"hidden_size=int:16..128:log"`` -> :class:`Param`; a bad spec is a one-line :class:`ConfigError`."""
    raw_name, sep, spec = str(text).partition("=")
    if not sep or not raw_name.strip() or not spec.strip():
        raise ConfigError(f"--param {text!r} is not NAME=SPEC; {EXAMPLE}")
    name = _name(raw_name)
    kind, _, rest = spec.strip().partition(":")
    if kind == "choice":
        values = tuple(_choice(name, v.strip(), text) for v in rest.split(",") if v.strip())
        if not values:
            raise ConfigError(f"--param {text!r}: list the choices, e.g. {name}=choice:a,b")
        if len(set(values)) != len(values):
            raise ConfigError(f"--param {text!r}: a choice is listed twice")
        return Param(name, "choice", choices=values)
    if kind not in ("int", "float"):
        raise ConfigError(f"--param {text!r}: unknown kind {kind!r}; use int:LOW..HIGH, float:LOW..HIGH or "
                          f"choice:A,B ({EXAMPLE})")
    bounds, *flags = rest.split(":")
    low_text, dots, high_text = bounds.partition("..")
    if not dots:
        raise ConfigError(f"--param {text!r}: give the range as LOW..HIGH, e.g. {name}={kind}:1..10")
    low, high = _number(low_text.strip(), kind, text), _number(high_text.strip(), kind, text)
    if not low < high:
        raise ConfigError(f"--param {text!r}: LOW must be below HIGH")
    log, step = False, None
    for flag in flags:
        if flag == "log":
            log = True
        elif flag.startswith("step="):
            step = _number(flag[5:], kind, text)
            if step <= 0:
                raise ConfigError(f"--param {text!r}: step must be > 0")
        else:
            raise ConfigError(f"--param {text!r}: unknown flag {flag!r}; use :log or :step=N")
    if log and step:
        raise ConfigError(f"--param {text!r}: :log and :step cannot be combined")
    if log and low <= 0:
        raise ConfigError(f"--param {text!r}: a log scale needs LOW > 0")
    return Param(name, kind, low, high, log, step)


def parse_space(texts) -> list[Param]:
    """Every ``--param``; a name given twice is refused."""
    params = [parse_param(t) for t in texts]
    names = [p.name for p in params]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"--param {', '.join(twice)} given twice; give each option once")
    return params
