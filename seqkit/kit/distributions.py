"""Distribution heads for forecasting (DeepAR's likelihoods): Gaussian and Student-t, their quantiles and CRPS.

- :func:`student_t_cdf` / :func:`student_t_ppf`: the Student-t distribution function and its inverse for any real
  ``df > 0``, in plain Python (the regularised incomplete beta function by its continued fraction, Numerical
  Recipes' ``betacf``; the inverse by safeguarded Newton steps to 1e-12): no scipy, no torch.
- :func:`multipliers`: the quantiles of the standard distribution at given levels: ``loc + scale * multiplier``
  is then the exact quantile of the location-scale family. Gaussian: constants; Student-t: a function of the
  learnt ``df``, which is one learnt constant per feature (not per window), so the exported graph holds the
  multipliers as numbers: :class:`DistributionHead` keeps them in a buffer refreshed from ``df`` on every
  forward outside of an export and whenever weights are loaded.
- :func:`nll`: the negative log-likelihood (torch) a distribution head trains on.
- :func:`crps`: the continuous ranked probability score in closed form (Gaussian: Gneiting & Raftery 2007;
  Student-t: Jordan, Krueger & Lerch 2019, scoringRules' ``crps_t``), numpy.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

LIKELIHOODS = ("gaussian", "studentt")
PARAMETERS = {"gaussian": ["loc", "scale"], "studentt": ["loc", "scale", "df"]}
MIN_DF = 2.0  # df = 2 + softplus(raw): a finite variance, as in DeepAR / GluonTS


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def student_t_pdf(t: float, df: float) -> float:
    return math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
                    - (df + 1) / 2 * math.log1p(t * t / df))


def student_t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (|error| < 1e-10)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must be in (0, 1), got {q}")
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -student_t_ppf(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while student_t_cdf(hi, df) < q:  # bracket the root
        lo, hi = hi, hi * 2.0
    t = min(max(NormalDist().inv_cdf(q), lo), hi)
    for _ in range(200):
        err = student_t_cdf(t, df) - q
        if err > 0:
            hi = t
        else:
            lo = t
        step = t - err / max(student_t_pdf(t, df), 1e-300)
        new = step if lo < step < hi else 0.5 * (lo + hi)  # Newton inside the bracket, else bisect
        if abs(new - t) < 1e-12 * max(1.0, abs(t)):
            return new
        t = new
    return t


def multipliers(likelihood: str, levels: Sequence[float], df: Sequence[float] = ()) -> np.ndarray:
    """Quantiles of the standard distribution: ``[Q]`` (Gaussian) or ``[len(df), Q]`` (Student-t, per df)."""
    if likelihood == "gaussian":
        return np.array([NormalDist().inv_cdf(q) for q in levels])
    return np.array([[student_t_ppf(q, float(d)) for q in levels] for d in df])


def nll(loc: torch.Tensor, scale: torch.Tensor, df: torch.Tensor | None, target: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of ``target`` under Normal(loc, scale) or Student-t(df, loc, scale)."""
    z = (target - loc) / scale
    if df is None:
        return (0.5 * z ** 2 + torch.log(scale) + 0.5 * math.log(2 * math.pi)).mean()
    half = (df + 1.0) / 2.0
    log_norm = torch.lgamma(half) - torch.lgamma(df / 2.0) - 0.5 * torch.log(df * math.pi)
    return (half * torch.log1p(z ** 2 / df) - log_norm + torch.log(scale)).mean()


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[float])(z / math.sqrt(2.0)))


def crps(likelihood: str, loc: np.ndarray, scale: np.ndarray, actual: np.ndarray,
         df: np.ndarray | None = None) -> np.ndarray:
    """The CRPS of each ``actual`` under the forecast distribution (closed form), in the data's units."""
    loc, scale, actual = (np.asarray(v, np.float64) for v in (loc, scale, actual))
    z = (actual - loc) / scale
    if likelihood == "gaussian":
        pdf = np.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)
        return scale * (z * (2 * _normal_cdf(z) - 1) + 2 * pdf - 1 / math.sqrt(math.pi))
    nu = np.broadcast_to(np.asarray(df, np.float64), z.shape)
    cdf = np.vectorize(student_t_cdf, otypes=[float])(z, nu)
    pdf = np.vectorize(student_t_pdf, otypes=[float])(z, nu)

    def log_beta(a, b):
        return np.vectorize(math.lgamma)(a) + np.vectorize(math.lgamma)(b) - np.vectorize(math.lgamma)(a + b)

    last = 2 * np.sqrt(nu) * np.exp(log_beta(0.5, nu - 0.5) - 2 * log_beta(0.5, nu / 2)) / (nu - 1)
    return scale * (z * (2 * cdf - 1) + 2 * pdf * (nu + z ** 2) / (nu - 1) - last)


def inverse_softplus(y: float) -> float:
    return float(y + math.log(-math.expm1(-y)))


class DistributionHead(nn.Module):
    """The scale (and Student-t's df) of a forecast distribution whose location is the caller's point path.

    ``forward(last [b, H], loc [b, horizon, F])`` (model units) -> ``(scale [b, horizon, F], df [F] or None,
    quantiles [b, horizon, F, Q])``: scale = softplus(a linear map of the cell's last state) + 1e-4, started at
    ``spread`` (the ridge AR's error std); df = 2 + softplus(one learnt number per feature), started at 10."""

    def __init__(self, in_size: int, horizon: int, features: int, likelihood: str, levels: Sequence[float],
                 spread: float = 0.5):
        super().__init__()
        self.horizon, self.features, self.likelihood, self.levels = horizon, features, likelihood, list(levels)
        self.sproj = nn.Linear(in_size, horizon * features)
        with torch.no_grad():
            self.sproj.weight.zero_()
            self.sproj.bias.fill_(inverse_softplus(max(spread, 1e-3)))
        if likelihood == "studentt":
            self.df_raw = nn.Parameter(torch.full((features,), inverse_softplus(10.0 - MIN_DF)))
            start = multipliers("studentt", self.levels, [10.0] * features)
            self.register_load_state_dict_post_hook(lambda module, keys: module.refresh())
        else:
            self.df_raw = None
            start = multipliers("gaussian", self.levels)[None].repeat(features, 0)
        self.register_buffer("mult", torch.tensor(start, dtype=torch.float32), persistent=False)  # [F, Q]
        self._at: tuple | None = None

    def df(self) -> torch.Tensor | None:
        return None if self.df_raw is None else MIN_DF + F.softplus(self.df_raw)

    def refresh(self) -> None:
        """The Student-t multipliers at the current df (outside of an export: there they are the graph's constants)."""
        if self.df_raw is None:
            return
        with torch.no_grad():
            df = [round(float(v), 9) for v in self.df().cpu()]
            if df != self._at:
                self.mult.copy_(torch.tensor(multipliers("studentt", self.levels, df), dtype=torch.float32))
                self._at = df

    def forward(self, last, loc):
        if not torch.compiler.is_compiling():
            self.refresh()
        scale = F.softplus(self.sproj(last)).reshape(loc.shape) + 1e-4
        return scale, self.df(), loc.unsqueeze(-1) + scale.unsqueeze(-1) * self.mult
