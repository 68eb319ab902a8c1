"""Contract tests every component must pass: subclass one in a test file and pytest runs them.

::

    from kgrec.testing import AugmenterContract

    class TestMyAugmenter(AugmenterContract):
        name = "myaug"                    # the registered name
        options = {"myaug": {"k": 2}}     # optional: raw config laid over the defaults

The tests build the component on tiny synthetic data (every side input) on CPU with the
torch backend, check each hook's output, and train it for two epochs through
:func:`kgrec.run`. They pin what the rest of kgrec relies on: shapes, finite losses that
reach the parameters, every parameter stepped by exactly one optimiser, training state that
survives a checkpoint, and a finished run that :func:`kgrec.load` reproduces exactly. A
recommender fitted in closed form (``closed_form = True``, like ``pop`` and ``ease``) is
checked for having no parameters instead of a trainable loss, and its run for one epoch.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any, ClassVar

import torch


class _Contract:
    name: ClassVar[str]
    """The registered name of the component under test."""
    options: ClassVar[dict[str, Any]] = {}
    """A raw config mapping laid over the defaults for every test (``{"myaug": {...}}``)."""
    kind: ClassVar[str]

    def component_options(self) -> dict[str, Any]:
        return dict(self.options.get(self.name, {}))

    def short_run(self, out: Path, augmenter: str, recommender: str, seed: int = 0):
        from kgrec.testing import tiny_run

        return tiny_run(augmenter, recommender, out, epochs=2, options=self.options, seed=seed)

    def test_is_registered_with_a_typed_config(self):
        from kgrec import registry

        checks, cls = registry.static_checks(self.kind, self.name)  # type: ignore[arg-type]
        assert cls is not None, [p for c in checks for p in c.problems]

    def test_source_uses_only_the_public_api(self):
        from kgrec import registry
        from kgrec.testing.public_api import public_api_problems

        cls = registry.load(self.kind, self.name)  # type: ignore[arg-type]
        if cls.__module__.split(".")[0] == "kgrec":
            return  # a built-in: the core's own modules are not bound by the plugin rule
        package = Path(inspect.getfile(cls)).parent
        assert public_api_problems(package) == []

    def _run_and_reload(self, tmp_path: Path, augmenter: str, recommender: str) -> None:
        from kgrec import registry
        from kgrec.experiment import load

        result = self.short_run(tmp_path / "run", augmenter, recommender)
        if getattr(registry.load("recommender", recommender), "closed_form", False):
            assert len(result.history) == 1 and result.best_epoch == 1
            assert result.convergence["stopped_by"] == "closed_form"
        else:
            assert len(result.history) == 2 and 1 <= result.best_epoch <= 2
            assert all(math.isfinite(row["loss"]) for row in result.history)
        assert all(0.0 <= v <= 1.0 for v in result.test.values()), result.test
        again = self.short_run(tmp_path / "again", augmenter, recommender)
        assert again.test == result.test, "the same seed must give the same run"
        assert [r.get("loss") for r in again.history] == [r.get("loss") for r in result.history]
        trained = load(result.run_dir)
        assert trained.evaluate("test") == result.test, \
            "best.pt must hold everything evaluation reads (rebuilt graphs: use extra state)"


class RecommenderContract(_Contract):
    """What every :class:`~kgrec.Recommender` must do; set ``name`` in the subclass."""

    kind = "recommender"
    augmenter: ClassVar[str] = "none"
    """The augmenter of the end-to-end run."""

    def build(self):
        from kgrec.testing import tiny_model, tiny_setup

        return tiny_model(self.name, tiny_setup(), **self.component_options())

    def test_encode_gives_finite_embeddings_for_every_user_and_item(self):
        model = self.build()
        data = model.setup_info.data
        emb = model.encode(model.view())
        assert emb.users.shape[0] == data.num_users and emb.items.shape[0] == data.num_items
        assert emb.users.shape[1] == emb.items.shape[1] == model.embedding_dim
        assert torch.isfinite(emb.users).all() and torch.isfinite(emb.items).all()

    def test_scores_rank_every_item_for_a_batch_of_users(self):
        model = self.build()
        users = torch.arange(5)
        scores = model.score(model.encode(model.view()), users)
        assert scores.shape == (5, model.setup_info.data.num_items)
        assert torch.isfinite(scores).all()

    def test_loss_terms_are_finite_scalars_that_reach_the_parameters(self):
        from kgrec.interfaces import Batch

        model = self.build()
        if type(model).closed_form:  # fitted when built: nothing for a loss to train
            assert not [n for n, p in model.named_parameters() if p.requires_grad]
            return
        view = model.view()
        batch = Batch(torch.arange(8), torch.arange(8), torch.arange(8, 16))
        terms = model.loss(model.encode(view), batch, view)
        assert "bpr" in terms and all(t.dim() == 0 and torch.isfinite(t) for t in terms.values())
        sum(terms.values()).backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)

    def test_short_run_is_repeatable_and_reloads_to_its_test_metrics(self, tmp_path):
        self._run_and_reload(tmp_path, self.augmenter, self.name)

    def test_search_space_names_config_fields(self):
        from kgrec import registry
        from kgrec.tune.space import check_component_space

        cls = registry.load("recommender", self.name)
        assert check_component_space("recommender", self.name, cls) == []


class AugmenterContract(_Contract):
    """What every :class:`~kgrec.GraphAugmenter` must do; set ``name`` in the subclass."""

    kind = "augmenter"
    recommender: ClassVar[str] = "lightgcn"
    """The backbone the augmenter is checked around."""

    def build(self):
        from kgrec.testing import tiny_augmenter, tiny_model, tiny_setup

        model = tiny_model(self.recommender, tiny_setup(), **dict(self.options.get(self.recommender, {})))
        return model, tiny_augmenter(self.name, model, **self.component_options())

    def test_every_preset_resolves(self):
        from kgrec import registry
        from kgrec.experiment import resolve_config

        for preset in registry.load("augmenter", self.name).presets:
            config = resolve_config({"augmenter": self.name, "recommender": self.recommender,
                                     "preset": preset})
            assert config.preset == preset

    def test_every_parameter_has_exactly_one_optimiser(self):
        from kgrec.train.trainer import joint_param_groups

        model, augmenter = self.build()
        joint_param_groups(model, augmenter)  # raises naming the parameter otherwise

    def test_hooks_keep_shapes_and_give_finite_losses(self):
        from kgrec.interfaces import Batch, Embeddings, View
        from kgrec.testing import forward, tiny_context

        model, augmenter = self.build()
        data = model.setup_info.data
        stats = augmenter.fit_epoch(tiny_context(model))
        assert all(math.isfinite(float(v)) for v in stats.values()), stats
        batch = Batch(torch.arange(8), torch.arange(8), torch.arange(8, 16))
        ctx = tiny_context(model, batch=batch)
        emb = forward(model, augmenter, ctx)
        assert isinstance(ctx.view, View) and isinstance(emb, Embeddings)
        assert emb.users.shape == (data.num_users, model.embedding_dim)
        assert emb.items.shape == (data.num_items, model.embedding_dim)
        terms = {**ctx.losses, **augmenter.loss(emb, batch, ctx)}
        assert all(t.dim() == 0 and torch.isfinite(t) for t in terms.values()), terms
        augmenter.epoch_end(tiny_context(model))
        augmenter.eval()
        model.eval()
        with torch.no_grad():
            evaluated = forward(model, augmenter, tiny_context(model, training=False))
        assert torch.isfinite(evaluated.users).all() and torch.isfinite(evaluated.items).all()

    def test_training_state_survives_a_checkpoint(self):
        from kgrec.testing import tiny_context

        model, augmenter = self.build()
        augmenter.fit_epoch(tiny_context(model))
        state, extra = augmenter.state_dict(), augmenter.train_state()
        _, fresh = self.build()
        fresh.load_state_dict(state)
        fresh.load_train_state(extra)
        assert set(fresh.train_state()) == set(extra) == set(augmenter.optimizers())

    def test_short_run_is_repeatable_and_reloads_to_its_test_metrics(self, tmp_path):
        self._run_and_reload(tmp_path, self.name, self.recommender)

    def test_search_space_names_config_fields(self):
        from kgrec import registry
        from kgrec.tune.space import check_component_space

        cls = registry.load("augmenter", self.name)
        assert check_component_space("augmenter", self.name, cls) == []
