"""The built-in components pass the same contract tests that every plugin's suite runs."""

from kgrec.testing import AugmenterContract, RecommenderContract


class TestLightGCN(RecommenderContract):
    name = "lightgcn"


class TestGCN(RecommenderContract):
    name = "gcn"


class TestMF(RecommenderContract):
    name = "mf"


class TestPop(RecommenderContract):
    name = "pop"


class TestEASE(RecommenderContract):
    name = "ease"


class TestNoAugmenter(AugmenterContract):
    name = "none"
