"""PromptMM (Wei et al., WWW 2024) as a kgrec augmenter: the backbone is the student.

A run has two phases, kept in the module's state (``phase``), so that ``best.pt`` and epoch
checkpoints restore them:

1. **Teacher phase** (the run's first epochs). ``fit_epoch`` trains the multi-modal teacher
   for one epoch of its own batches with its own AdamW (declared in :meth:`optimizers`, so a
   resumed run restores it), ranks the validation users with it, and keeps the best
   validation teacher (``best``). The student does not learn: ``transform`` and ``refine``
   hand the trainer detached tensors and ``loss`` adds a zero term on a zero-size anchor so
   that the trainer's backward has a graph. With ``student_init = teacher`` the student's
   id tables are refreshed from the best teacher every teacher epoch, so the run's own
   validation (of the student, always) follows the teacher's progress and can select only an
   id-only student. The phase ends after ``teacher.epochs`` epochs or the teacher's early
   stop; the student starts distilling in the batches of that same epoch.
   With ``teacher_from`` the phase is replaced by loading a finished run's selected teacher.
2. **Distillation phase.** The teacher is frozen (its prompts too, unless
   ``prompt_tuning = distillation``). Each student step adds the distillation terms to the
   backbone's own loss. ``transform`` and ``refine`` change nothing, so evaluation and
   serving use the backbone alone: the student keeps no modality parameters.

``stage = teacher`` runs phase 1 only and evaluates with the teacher's embeddings, so that
run's metrics are the teacher's and its directory can be a later run's ``teacher_from``.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from kgrec import (Batch, Context, Embeddings, GraphAugmenter, PluginError, Recommender, Setup,
                   View)

from kgrec_promptmm.config import ARCHITECTURE_FIELDS, PRESETS, PromptMMConfig
from kgrec_promptmm.distill import (decoupled_kd, kl_on_values, list_probabilities, pair_losses,
                                    scaled_cosine_error, surprise)
from kgrec_promptmm.sampling import PairIndex, UserBatches, recall_at_k
from kgrec_promptmm.teacher import (PromptLearner, Teacher, TeacherGraphs, TeacherOutput,
                                    feature_tensors, hard_tokens, teacher_loss)

TEACHER_PHASE, DISTILL_PHASE = 0, 1


class PromptMM(GraphAugmenter):
    """Multi-modal knowledge distillation with prompt-tuning, around any backbone."""

    Config = PromptMMConfig
    requires = frozenset({"modalities"})
    presets = PRESETS

    def __init__(self, config: PromptMMConfig, setup: Setup):
        super().__init__(config, setup)
        data, device, dim = setup.data, setup.device, setup.embedding_dim
        self.num_users, self.num_items, self.dim = data.num_users, data.num_items, dim
        self.names = list(data.modalities)
        if not self.names:
            raise PluginError("promptmm needs at least one item modality")
        self.features = feature_tensors(data.modalities, device)
        self.graphs = TeacherGraphs.build(setup.ops, setup.train_users, setup.train_items,
                                          data.num_users, data.num_items)
        hard_users, hard_items = hard_tokens(self.features, self.graphs, dim)
        self.register_buffer("hard_users", hard_users)
        self.register_buffer("hard_items", hard_items)
        dims = {name: int(f.shape[1]) for name, f in self.features.items()}
        self.teacher = Teacher(data.num_users, data.num_items, dims, dim, config.teacher, device)
        self.best = copy.deepcopy(self.teacher).requires_grad_(False)
        # the student-tuned prompt copy (prompt_tuning = distillation); idle otherwise
        self.prompt = PromptLearner(dim, device).requires_grad_(config.prompt_tuning == "distillation")
        # a zero-size parameter: the teacher phase's zero loss term hangs on it (see module doc)
        self.anchor = nn.Parameter(torch.zeros(0, device=device))
        for name, value in (("phase", TEACHER_PHASE), ("teacher_epochs", 0), ("best_epoch", 0),
                            ("waited", 0), ("stopped", 0)):
            self.register_buffer(name, torch.tensor(value, dtype=torch.long, device=device))
        self.register_buffer("best_score", torch.tensor(-1.0, dtype=torch.float64, device=device))
        self.optimizer = torch.optim.AdamW(self.teacher.parameters(), lr=config.teacher.lr,
                                           weight_decay=config.teacher.weight_decay)
        self.train_pairs = PairIndex(data.train.users, data.train.items, data.num_users,
                                     data.num_items, device)
        self.valid_pairs = PairIndex(data.valid.users, data.valid.items, data.num_users,
                                     data.num_items, device)
        self.batches = UserBatches(self.train_pairs)
        self._student_tables: tuple[Tensor, Tensor] | None = None

    # ----------------------------------------------------------------- set-up

    def bind(self, model: Recommender) -> None:
        if model.embedding_dim != self.dim:
            raise PluginError(f"promptmm's teacher has {self.dim} dims but the backbone's "
                              f"embeddings have {model.embedding_dim}")
        if self.config.student_init == "teacher":
            view = model.view()
            own = {id(p) for p in model.parameters()}
            if id(view.users) not in own or id(view.items) not in own:
                raise PluginError(f"promptmm.student_init=teacher copies the teacher's embeddings "
                                  f"into the backbone's id tables, but {type(model).__name__}.view() "
                                  f"does not return its own parameters; use promptmm.student_init=random")
            self._student_tables = (view.users, view.items)

    def optimizers(self) -> Mapping[str, Any]:
        """The teacher's own AdamW (teacher phase only; it never steps afterwards)."""
        return {"teacher": self.optimizer}

    @property
    def distilling(self) -> bool:
        return int(self.phase) == DISTILL_PHASE

    def teacher_ready(self) -> bool:
        """Whether a selected teacher exists (a teacher epoch was validated, or one was loaded)."""
        return int(self.best_epoch) > 0

    # ----------------------------------------------------------------- the teacher

    def run_teacher(self, module: Teacher, training: bool, prompt: PromptLearner | None = None) -> TeacherOutput:
        return module(self.graphs, self.features, (self.hard_users, self.hard_items), training, prompt)

    @torch.no_grad()
    def teacher_embeddings(self) -> Embeddings:
        """The selected teacher's final user and item embeddings, without dropout."""
        out = self.run_teacher(self.best, training=False)
        return Embeddings(out.users, out.items)

    def teacher_parameter_count(self) -> int:
        """Parameters of one teacher (id tables, modality projections, prompt module)."""
        return sum(p.numel() for p in self.best.parameters())

    def train_teacher_epoch(self, generator: torch.Generator) -> dict[str, float]:
        cfg = self.config.teacher
        self.teacher.train()
        sums: dict[str, float] = {}
        steps = 0
        for u, pos, neg in self.batches.epoch(cfg.batch_size, generator):
            out = self.run_teacher(self.teacher, training=True)
            terms = teacher_loss(out, u, pos, neg, cfg, self.num_items)
            loss = sum(terms.values())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach())
            sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
            steps += 1
        self.optimizer.zero_grad(set_to_none=True)  # no stale gradients outside its steps
        return {f"teacher_{name}": total / max(steps, 1) for name, total in sums.items()}

    @torch.no_grad()
    def validate(self, module: Teacher) -> float:
        out = self.run_teacher(module, training=False)
        return recall_at_k(out.users, out.items, self.valid_pairs, self.train_pairs,
                           self.config.teacher.select_k)

    def teacher_epoch(self, generator: torch.Generator) -> dict[str, float]:
        """One epoch of the teacher phase: train, validate, keep the best, early-stop."""
        cfg = self.config.teacher
        stats = self.train_teacher_epoch(generator)
        self.teacher_epochs += 1
        score = self.validate(self.teacher)
        if score > float(self.best_score):
            self.best_score.fill_(score)
            self.best_epoch.copy_(self.teacher_epochs)
            self.waited.zero_()
            self.best.load_state_dict(self.teacher.state_dict())
        elif int(self.waited) < cfg.patience:
            self.waited += 1
        else:
            self.stopped.fill_(1)
        stats.update({"teacher_valid": score, "teacher_best_epoch": float(self.best_epoch)})
        return stats

    def teacher_done(self) -> bool:
        return bool(self.stopped) or int(self.teacher_epochs) >= self.config.teacher.epochs

    def load_teacher(self, run_dir: str) -> dict[str, float]:
        """Take the selected teacher of the finished ``promptmm`` run in ``run_dir``."""
        import kgrec

        setup = self.setup_info
        try:
            source = kgrec.load(run_dir, data=setup.data, device=setup.device)
        except kgrec.KgrecError as exc:
            raise PluginError(f"promptmm.teacher_from={run_dir}: {exc}") from None
        other = source.augmenter
        if not isinstance(other, PromptMM):
            raise PluginError(f"promptmm.teacher_from={run_dir} is a {source.config.augmenter} run, "
                              "not a promptmm one")
        if not other.teacher_ready():
            raise PluginError(f"promptmm.teacher_from={run_dir}: its selected checkpoint holds no "
                              "trained teacher (no teacher epoch had been validated)")
        mine, theirs = self.config.teacher, other.config.teacher
        differ = [f"{name} ({getattr(theirs, name)} there, {getattr(mine, name)} here)"
                  for name in ARCHITECTURE_FIELDS if getattr(theirs, name) != getattr(mine, name)]
        if other.names != self.names or other.dim != self.dim:
            differ.append(f"modalities/dim ({other.names}/{other.dim} there, {self.names}/{self.dim} here)")
        if differ:
            raise PluginError(f"promptmm.teacher_from={run_dir}: its teacher was built differently: "
                              + "; ".join(differ))
        self.best.load_state_dict(other.best.state_dict())
        self.teacher.load_state_dict(other.best.state_dict())
        self.hard_users.copy_(other.hard_users)
        self.hard_items.copy_(other.hard_items)
        self.best_score.copy_(other.best_score)
        self.best_epoch.copy_(other.best_epoch)
        self.teacher_epochs.copy_(other.teacher_epochs)
        self.stopped.fill_(1)
        return {"teacher_valid": float(self.best_score), "teacher_best_epoch": float(self.best_epoch),
                "teacher_loaded": 1.0}

    @torch.no_grad()
    def init_student(self) -> None:
        """Copy the selected teacher's final embeddings into the student's id tables."""
        if self._student_tables is None:
            return
        emb = self.teacher_embeddings()
        scale = self.config.student_init_scale
        users, items = self._student_tables
        users.copy_(scale * emb.users)
        items.copy_(scale * emb.items)

    def start_distillation(self) -> None:
        if self.config.prompt_tuning == "distillation" and self.best.prompt is not None:
            self.prompt.load_state_dict(self.best.prompt.state_dict())
        self.init_student()
        self.phase.fill_(DISTILL_PHASE)

    # ----------------------------------------------------------------- per epoch

    def fit_epoch(self, ctx: Context) -> dict[str, float]:
        if self.distilling:
            return {}
        cfg = self.config
        if cfg.teacher_from:
            stats = self.load_teacher(cfg.teacher_from)
            self.start_distillation()
            return stats
        if self.teacher_done():  # stage = teacher after its early stop: nothing left to train
            return {}
        stats = self.teacher_epoch(ctx.generator)
        if cfg.stage == "distill":
            if self.teacher_done():
                self.start_distillation()
            else:
                self.init_student()
        return stats

    # ----------------------------------------------------------------- per step

    def transform(self, view: View, ctx: Context) -> View:
        if ctx.training and not self.distilling:
            return view.replace(users=view.users.detach(), items=view.items.detach())
        return view

    def refine(self, emb: Embeddings, ctx: Context) -> Embeddings:
        if self.config.stage == "teacher" and not ctx.training:
            return self.teacher_embeddings()
        if ctx.training and not self.distilling:
            return Embeddings(emb.users.detach(), emb.items.detach())
        return emb

    def targets(self, ctx: Context) -> TeacherOutput:
        """The frozen teacher's outputs for this step (through the student-tuned prompt copy,
        with gradients to it, under ``prompt_tuning = distillation``)."""
        def compute() -> TeacherOutput:
            training = ctx.training and self.config.teacher_dropout
            if self.config.prompt_tuning == "distillation":
                return self.run_teacher(self.best, training, prompt=self.prompt)
            with torch.no_grad():
                return self.run_teacher(self.best, training)

        return ctx.cached("promptmm.teacher", compute)

    def loss(self, emb: Embeddings, batch: Batch, ctx: Context) -> dict[str, Tensor]:
        if not self.distilling:
            return {"frozen": self.anchor.sum()}
        cfg = self.config
        on = cfg.distillation_terms()
        if not any(on.values()):
            return {}
        t = self.targets(ctx)
        u, pos, neg = batch.users, batch.pos_items, batch.neg_items
        terms: dict[str, Tensor] = {}
        if on["pair"]:
            terms["kd_pair"] = cfg.pair_weight * kl_on_values(
                pair_losses(emb.users, emb.items, u, pos, neg), pair_losses(t.users, t.items, u, pos, neg))
        if on["list"] or on["dkd"]:
            sampled = torch.randint(0, self.num_items, (u.shape[0], cfg.negatives),
                                    generator=ctx.generator).to(u.device)
            candidates = torch.cat([pos.unsqueeze(1), sampled], dim=1)
            student = list_probabilities(emb.users, emb.items, u, candidates)
            if on["list"]:
                for name in self.names:
                    teacher = list_probabilities(t.modal_users[name], t.modal_items[name], u, candidates)
                    terms[f"kd_list_{name}"] = cfg.list_weight * kl_on_values(surprise(student), surprise(teacher))
            if on["dkd"]:
                fused = list_probabilities(t.users, t.items, u, candidates)
                terms["kd_dkd"] = cfg.dkd_weight * decoupled_kd(student, fused, cfg.dkd_alpha, cfg.dkd_beta,
                                                                 cfg.dkd_temperature)
        if on["emb"]:
            for name in self.names:
                terms[f"kd_emb_{name}"] = cfg.emb_weight * scaled_cosine_error(
                    t.modal_items[name], emb.items, cfg.emb_gamma, cfg.emb_drop_rate)
        return terms
