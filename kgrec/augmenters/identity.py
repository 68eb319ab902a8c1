"""The identity augmenter ``none``: the baseline every ablation compares against."""

from __future__ import annotations

from dataclasses import dataclass

from kgrec.interfaces import GraphAugmenter


@dataclass
class NoAugmenterConfig:
    """No options: the backbone runs exactly as it would alone."""


class NoAugmenter(GraphAugmenter):
    """Changes nothing; every hook is the interface's no-op default."""

    Config = NoAugmenterConfig
