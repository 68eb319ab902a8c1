"""The teacher phase: the teacher trains only in its epochs (and the student not at all there),
is selected on validation, stops early, is frozen afterwards, survives a resumed run, and can be
loaded from an earlier run's directory instead."""

import copy
from pathlib import Path

import pytest
import torch

import kgrec
from kgrec import Batch
from kgrec.testing import forward, tiny_augmenter, tiny_context, tiny_model, tiny_run

FAST = {"batch_size": 256}


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same(a, b):
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def student_step(model, aug, epoch, seed=0):
    """One trainer step: the backbone's and the augmenter's terms, backward, one Adam step."""
    g = torch.Generator().manual_seed(seed)
    keys = aug.train_pairs.keys[torch.randint(0, aug.train_pairs.keys.numel(), (64,), generator=g)]
    batch = Batch(keys // aug.num_items, keys % aug.num_items, torch.randint(0, aug.num_items, (64,), generator=g))
    ctx = tiny_context(model, batch=batch, epoch=epoch)
    emb = forward(model, aug, ctx)
    terms = {**model.loss(emb, batch, ctx.view), **ctx.losses, **aug.loss(emb, batch, ctx)}
    optimizer = torch.optim.Adam([p for p in model.parameters()] + [aug.anchor] + list(aug.prompt.parameters()),
                                 lr=0.01)
    optimizer.zero_grad()
    sum(terms.values()).backward()
    optimizer.step()
    return terms


def test_teacher_trains_in_its_epochs_only_and_the_student_only_after():
    model = tiny_model("lightgcn")
    aug = tiny_augmenter("promptmm", model, teacher={"epochs": 2, **FAST})
    t0 = state(aug.teacher)
    stats = aug.fit_epoch(tiny_context(model, epoch=1))
    assert {"teacher_bpr", "teacher_prompt_bpr", "teacher_valid"} <= set(stats)
    assert not aug.distilling and not same(t0, state(aug.teacher))
    # teacher phase: the student's tables hold the best teacher's embeddings and do not learn
    init = aug.teacher_embeddings()
    torch.testing.assert_close(model.user_emb.weight, init.users)
    before = state(model)
    terms = student_step(model, aug, epoch=1)
    assert set(terms) >= {"bpr", "frozen"} and not any(k.startswith("kd_") for k in terms)
    assert same(before, state(model))
    # the last teacher epoch: the student distils in the batches of that same epoch
    aug.fit_epoch(tiny_context(model, epoch=2))
    assert aug.distilling and int(aug.teacher_epochs) == 2
    teacher, best = state(aug.teacher), state(aug.best)
    optimizer_state = copy.deepcopy(aug.optimizer.state_dict())
    assert aug.fit_epoch(tiny_context(model, epoch=3)) == {}
    terms = student_step(model, aug, epoch=3)
    assert "frozen" not in terms and any(k.startswith("kd_") for k in terms)
    assert not same(before, state(model))  # the student learns now
    assert same(teacher, state(aug.teacher)) and same(best, state(aug.best))  # the teacher does not
    assert all(p.grad is None for p in aug.best.parameters())
    assert all(p.grad is None for p in aug.teacher.parameters())
    assert str(aug.optimizer.state_dict()) == str(optimizer_state)


def test_teacher_is_selected_on_validation_and_stops_early(monkeypatch):
    model = tiny_model("lightgcn")
    aug = tiny_augmenter("promptmm", model, teacher={"epochs": 10, "patience": 1, **FAST})
    scores = iter([0.1, 0.3, 0.2, 0.25, 0.9])
    monkeypatch.setattr(aug, "validate", lambda module: next(scores))
    after = {}
    for epoch in range(1, 6):
        if aug.distilling:
            break
        aug.fit_epoch(tiny_context(model, epoch=epoch))
        after[epoch] = state(aug.teacher)
    # epoch 2 is best; epoch 3 waits (patience 1); epoch 4 is the second miss: the phase ends
    assert aug.distilling and sorted(after) == [1, 2, 3, 4]
    assert int(aug.best_epoch) == 2 and float(aug.best_score) == pytest.approx(0.3)
    assert same(state(aug.best), after[2])
    torch.testing.assert_close(model.item_emb.weight, aug.teacher_embeddings().items)


def test_the_phase_and_the_teacher_are_module_state():
    model = tiny_model("mf")
    aug = tiny_augmenter("promptmm", model, teacher={"epochs": 1, **FAST})
    aug.fit_epoch(tiny_context(model))
    fresh = tiny_augmenter("promptmm", tiny_model("mf"), teacher={"epochs": 1, **FAST})
    assert not fresh.distilling
    fresh.load_state_dict(aug.state_dict())
    assert fresh.distilling and int(fresh.best_epoch) == 1
    assert same(state(fresh.best), state(aug.best))


def test_a_run_killed_in_the_teacher_phase_resumes_exactly(tmp_path):
    options = {"promptmm": {"teacher": {"epochs": 3, **FAST}}}
    whole = tiny_run("promptmm", "lightgcn", tmp_path / "whole", epochs=4, options=options)

    def kill_after_two(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    raw = {"recommender": "lightgcn", "augmenter": "promptmm", "dataset": whole.config.dataset,
           "train": {"epochs": 4, "backend": "torch", "device": "cpu", "seed": 0, "batch_size": 256,
                     "patience": 4}, **options}
    with pytest.raises(KeyboardInterrupt):
        kgrec.run(raw, out=tmp_path / "killed", progress=False, log=None, on_epoch=kill_after_two)
    resumed = kgrec.resume(tmp_path / "killed", progress=False, log=None)
    assert resumed.test == whole.test
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    assert [r.get("fit_teacher_loss") for r in resumed.history] == [r.get("fit_teacher_loss") for r in whole.history]


def test_teacher_loaded_from_an_earlier_run(tmp_path):
    teacher_run = tiny_run("promptmm", "lightgcn", tmp_path / "teacher", epochs=2,
                           options={"promptmm": {"stage": "teacher", "teacher": {"epochs": 2, **FAST}}})
    # a teacher-stage run is evaluated with the teacher: its metrics are the teacher's
    loaded_teacher = kgrec.load(teacher_run.run_dir)
    assert loaded_teacher.evaluate("test") == teacher_run.test
    emb = loaded_teacher.embeddings()
    torch.testing.assert_close(emb.users, loaded_teacher.augmenter.teacher_embeddings().users)
    student_run = tiny_run("promptmm", "lightgcn", tmp_path / "student", epochs=2,
                           options={"promptmm": {"teacher_from": str(teacher_run.run_dir),
                                                 "teacher": {"epochs": 0}}})
    first = student_run.history[0]
    assert first["fit_teacher_loaded"] == 1.0 and "fit_teacher_bpr" not in first
    assert any(k.startswith("kd_") for k in first)
    student = kgrec.load(student_run.run_dir)
    assert same(state(student.augmenter.best), state(loaded_teacher.augmenter.best))
    assert student.augmenter.teacher_ready() and student.augmenter.distilling
    # the student's own run needs the teacher run no more: its state holds the teacher
    assert student.evaluate("test") == student_run.test


def test_a_teacher_built_differently_or_no_teacher_is_refused(tmp_path):
    teacher_run = tiny_run("promptmm", "mf", tmp_path / "teacher", epochs=1,
                           options={"promptmm": {"stage": "teacher", "teacher": {"epochs": 1, **FAST}}})
    with pytest.raises(kgrec.KgrecError, match="layers"):
        tiny_run("promptmm", "mf", tmp_path / "other", epochs=1,
                 options={"promptmm": {"teacher_from": str(teacher_run.run_dir), "teacher": {"layers": 3}}})
    plain = tiny_run("none", "mf", tmp_path / "plain", epochs=1)
    with pytest.raises(kgrec.KgrecError, match="not a promptmm"):
        tiny_run("promptmm", "mf", tmp_path / "from_plain", epochs=1,
                 options={"promptmm": {"teacher_from": str(plain.run_dir)}})
    with pytest.raises(kgrec.KgrecError):
        tiny_run("promptmm", "mf", tmp_path / "missing", epochs=1,
                 options={"promptmm": {"teacher_from": str(tmp_path / "nowhere")}})


def test_random_student_init_leaves_the_backbone_alone_in_the_teacher_phase():
    model = tiny_model("lightgcn")
    before = state(model)
    aug = tiny_augmenter("promptmm", model, student_init="random", teacher={"epochs": 1, **FAST})
    aug.fit_epoch(tiny_context(model))
    assert aug.distilling and same(before, state(model))


def test_a_backbone_without_own_tables_cannot_take_the_teacher_init():
    from kgrec import Embeddings, View

    model = tiny_model("mf")

    class Computed(type(model)):
        def view(self):
            base = super().view()
            return View(base.graph, base.users * 1.0, base.items * 1.0)

        def encode(self, view):
            return Embeddings(view.users, view.items)

    other = Computed(model.config, model.setup_info)
    with pytest.raises(kgrec.PluginError, match="student_init=random"):
        tiny_augmenter("promptmm", other)
    tiny_augmenter("promptmm", other, student_init="random")


def test_runs_repeat_and_settings_change_them(tmp_path):
    def run(name, **options):
        opts = {"promptmm": {"teacher": {"epochs": 1, **FAST}, **options}}
        return tiny_run("promptmm", "lightgcn", Path(tmp_path) / name, epochs=2, seed=3, options=opts).test

    first = run("a")
    assert run("b") == first
    assert run("no_list", list_kd=False) != first
