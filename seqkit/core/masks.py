"""Length masks shared by cells and tasks (neither imports the other)."""
from __future__ import annotations

import torch


def lengths_mask(lengths: torch.Tensor, time: int) -> torch.Tensor:
    """``[batch, time]`` bool mask, True at valid steps."""
    return torch.arange(time, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)
