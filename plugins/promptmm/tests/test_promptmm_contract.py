"""kgrec's contract tests for ``promptmm``, around a propagating and a non-propagating student,
in both stages and both prompt-tuning modes (one teacher epoch, so that the two-epoch runs of
the contract distil in both epochs)."""

from kgrec.testing import AugmenterContract

ONE_TEACHER_EPOCH = {"teacher": {"epochs": 1, "batch_size": 256}}


class TestPromptMMAroundLightGCN(AugmenterContract):
    name = "promptmm"
    recommender = "lightgcn"
    options = {"promptmm": ONE_TEACHER_EPOCH}


class TestPromptMMAroundMF(AugmenterContract):
    name = "promptmm"
    recommender = "mf"
    options = {"promptmm": ONE_TEACHER_EPOCH}


class TestPromptMMTeacherStage(AugmenterContract):
    name = "promptmm"
    recommender = "lightgcn"
    options = {"promptmm": {"stage": "teacher", "teacher": {"epochs": 2, "batch_size": 256}}}


class TestPromptMMPromptsTunedByDistillation(AugmenterContract):
    name = "promptmm"
    recommender = "mf"
    options = {"promptmm": {"prompt_tuning": "distillation", "dkd_weight": 1.0, **ONE_TEACHER_EPOCH}}
