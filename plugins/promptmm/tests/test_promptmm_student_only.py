"""Evaluation uses the student alone: a distilled run's test metrics need none of the teacher's
modality parameters, features or prompts, and equal the backbone's own scores."""

import math

import torch

import kgrec
from kgrec.testing import tiny_run

OPTIONS = {"promptmm": {"teacher": {"epochs": 1, "batch_size": 256}}}


def test_test_metrics_need_nothing_of_the_teacher(tmp_path, monkeypatch):
    result = tiny_run("promptmm", "lightgcn", tmp_path / "run", epochs=2, options=OPTIONS)
    trained = kgrec.load(result.run_dir)
    aug, model = trained.augmenter, trained.model
    assert aug.distilling and trained.evaluate("test") == result.test
    # wipe every teacher-side tensor: parameters, buffers, raw modality features
    with torch.no_grad():
        for p in aug.parameters():
            p.fill_(float("nan"))
        for name, b in aug.named_buffers():
            if b.is_floating_point():
                b.fill_(float("nan"))
        for f in aug.features.values():
            f.fill_(float("nan"))

    def no_teacher(*args, **kwargs):
        raise AssertionError("evaluation ran the teacher")

    monkeypatch.setattr(aug, "run_teacher", no_teacher)
    assert trained.evaluate("test") == result.test
    # what is served is the backbone alone: its own encode of its own view
    with torch.no_grad():
        alone = model.encode(model.view())
    served = trained.embeddings()
    assert torch.equal(served.users, alone.users) and torch.equal(served.items, alone.items)


def test_the_student_has_only_the_backbones_parameters(tmp_path):
    result = tiny_run("promptmm", "mf", tmp_path / "run", epochs=2, options=OPTIONS)
    trained = kgrec.load(result.run_dir)
    data = trained.data
    student = sum(p.numel() for p in trained.model.parameters())
    assert student == (data.num_users + data.num_items) * trained.model.embedding_dim
    teacher = trained.augmenter.teacher_parameter_count()
    feature_dims = sum(f.shape[1] for f in trained.augmenter.features.values())
    d = trained.model.embedding_dim
    # id tables, one Linear per modality, the two prompt Linears
    assert teacher == student + feature_dims * d + len(data.modalities) * d + 2 * (d * d + d)


def test_a_teacher_stage_run_reports_the_teacher(tmp_path):
    options = {"promptmm": {"stage": "teacher", "teacher": {"epochs": 2, "batch_size": 256}}}
    result = tiny_run("promptmm", "lightgcn", tmp_path / "run", epochs=2, options=options)
    trained = kgrec.load(result.run_dir)
    served = trained.embeddings()
    teacher = trained.augmenter.teacher_embeddings()
    assert torch.equal(served.users, teacher.users) and torch.equal(served.items, teacher.items)
    # the run's validation follows the teacher's own validation ranking
    best = max(row["valid_recall@20"] for row in result.history)
    assert math.isclose(best, max(row["fit_teacher_valid"] for row in result.history), rel_tol=1e-9)
