"""PromptMM's options, with the reference's TikTok values, and its named presets.

Reference code: ``HKUDS/PromptMM`` at 70da100, ``codes/utility/parser.py``. That file defines
three argument parsers in a row (Netflix at lines 608-680, TikTok at 688-760, Amazon at
768-841) and rebinds ``args`` after each, so as shipped every dataset runs with the Amazon
block's values; the defaults here are the TikTok block's, the paper's TikTok setting. The
plugin README tabulates every setting with the reference's name and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from kgrec import ConfigError


@dataclass
class TeacherConfig:
    """The multi-modal teacher and its own training phase (``--set promptmm.teacher.<field>``)."""

    epochs: int = 20
    """Most epochs of the teacher phase (the run's first epochs); its early stopping
    (``patience``) may end it sooner. The reference bounds each phase by ``--epoch`` 1000;
    the ``tiktok`` preset says so, this default leaves a default run room for the student."""
    patience: int = 8
    """Teacher epochs without a better validation Recall@``select_k`` after which the phase
    ends once more without one (``early_stopping_patience``, main.py:518-534)."""
    select_k: int = 20
    """K of the validation Recall@K that selects the teacher (``Ks[1]``)."""
    lr: float = 1.1e-3
    """Learning rate of the teacher's own AdamW (``--lr``)."""
    weight_decay: float = 1e-3
    """AdamW's decoupled weight decay (``--t_weight_decay``)."""
    batch_size: int = 1024
    """Users per teacher step; each step draws this many distinct users (``--batch_size``)."""
    reg: float = 1e-5
    """L2 on the batch's final embeddings, ``reg * sum ||.||^2 / 2B`` (``regs[0]``)."""
    feat_reg: float = 1e-5
    """L2 on every row of the propagated modality embeddings, ``/ 2I`` (``feat_reg_decay``)."""
    prompt_bpr_weight: float = 1e10
    """Weight of the BPR loss on the soft prompts themselves (``t_prompt_rate1``)."""
    modal_bpr_weight: float = 1e-3
    """Weight of each modality's BPR loss on its own embeddings (``t_feat_mf_rate``)."""
    layers: int = 2
    """Id propagation layers; the last one is soft-maxed over the embedding dimension
    (``len(weight_size)``)."""
    model_cat_rate: float = 0.028
    """Weight of each normalised modality embedding added to the id embedding
    (``model_cat_rate``)."""
    dropout: float = 0.4
    """Dropout on each projected modality feature (``drop_rate``)."""
    prompt: bool = True
    """Ablation switch. False: no prompt module (no soft prompts anywhere, no prompt BPR)."""
    soft_token_rate: float = 0.1
    """Weight of the normalised id prompts added to the id tables (``soft_token_rate``)."""
    feat_soft_token_rate: float = 9.0
    """Weight of the normalised feature prompt ``P_i P_i^T F_m`` added to each modality's raw
    features (``feat_soft_token_rate``)."""
    prompt_dropout: float = 0.0
    """Dropout on the prompts in training (``prompt_dropout``)."""

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 0, "promptmm.teacher.epochs must be >= 0"),
            (self.patience >= 0, "promptmm.teacher.patience must be >= 0"),
            (self.select_k >= 1, "promptmm.teacher.select_k must be >= 1"),
            (self.lr > 0 and self.weight_decay >= 0, "promptmm.teacher.lr must be > 0, weight_decay >= 0"),
            (self.batch_size >= 1, "promptmm.teacher.batch_size must be >= 1"),
            (min(self.reg, self.feat_reg, self.prompt_bpr_weight, self.modal_bpr_weight,
                 self.model_cat_rate, self.soft_token_rate, self.feat_soft_token_rate) >= 0,
             "promptmm.teacher weights and rates must be >= 0"),
            (self.layers >= 1, "promptmm.teacher.layers must be >= 1"),
            (0 <= self.dropout < 1 and 0 <= self.prompt_dropout < 1,
             "promptmm.teacher dropout rates must be in [0, 1)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)


ARCHITECTURE_FIELDS = ("layers", "model_cat_rate", "dropout", "prompt", "soft_token_rate",
                       "feat_soft_token_rate", "prompt_dropout")
"""Teacher settings that change what a trained teacher computes; a teacher loaded from another
run (``teacher_from``) must have been trained with the same values."""


@dataclass
class PromptMMConfig:
    """Options of the ``promptmm`` augmenter (``--set promptmm.<field>=value``)."""

    stage: Literal["distill", "teacher"] = "distill"
    """``distill``: the teacher phase (or a loaded teacher), then the backbone trained as the
    student. ``teacher``: train the teacher only; the run is evaluated (and tested) with the
    teacher's embeddings, and its run directory can serve as ``teacher_from``."""
    teacher_from: str = ""
    """A finished ``promptmm`` run directory whose selected teacher is loaded (with
    ``kgrec.load``) instead of training one; its teacher architecture must match."""
    prompt_tuning: Literal["teacher", "distillation"] = "teacher"
    """What tunes the soft prompts. ``teacher`` (the reference code): trained with the
    teacher's AdamW by the prompt BPR loss in the teacher phase, frozen with the teacher after
    (main.py:620 runs the teacher under no_grad). ``distillation`` (the paper's description):
    a copy of the selected prompts keeps training with the student, by the gradients of the
    distillation losses through the teacher."""
    student_init: Literal["teacher", "random"] = "teacher"
    """``teacher``: the backbone's own id tables start from the selected teacher's final
    embeddings (times ``student_init_scale``), as the reference's ``init_user_item_embed``
    does (main.py:564-566); ``random``: the backbone's own initialisation."""
    student_init_scale: float = 1.0
    """Factor on the teacher embeddings copied into the student's tables (see the README:
    1 reproduces the reference's two summed table copies under a one-layer summed LightGCN)."""
    teacher_dropout: bool = True
    """The teacher's targets in the student's steps carry its modality dropout: the reference
    puts the teacher in training mode before every student batch (main.py:597)."""
    negatives: int = 10
    """Sampled items after the positive in each list-wise candidate list (``neg_sample_num``)."""
    pair_kd: bool = True
    """Ablation switch. False: no pair-wise ranking distillation (as pair_weight = 0)."""
    pair_weight: float = 0.01
    """Weight of the pair-wise ranking distillation on BPR losses (``kd_loss_rate``)."""
    list_kd: bool = True
    """Ablation switch. False: no modality-aware list-wise distillation (as list_weight = 0)."""
    list_weight: float = 0.01
    """Weight of each modality's list-wise ranking distillation (``kd_loss_list_rate``)."""
    emb_kd: bool = True
    """Ablation switch. False: no per-modality embedding distillation (as emb_weight = 0)."""
    emb_weight: float = 0.1
    """Weight of each modality's embedding distillation (``kd_loss_feat_rate``)."""
    emb_gamma: float = 2.0
    """Exponent of the scaled cosine error ``(1 - cos)^gamma`` (``alpha_l``)."""
    emb_drop_rate: float = 0.0
    """Per modality, the share of items with the largest embedding error left out of its
    distillation (``tip_rate_feat``, main.py:309-322)."""
    dkd_weight: float = 0.0
    """Weight of the decoupled (target / non-target) list-wise distillation on the teacher's
    fused scores. The reference computes it (main.py:711) but leaves it out of the loss
    (main.py:738), hence 0."""
    dkd_alpha: float = 100.0
    """DKD's target-class weight (``decouple_alpha``)."""
    dkd_beta: float = 1.0
    """DKD's non-target weight (``decouple_beta``)."""
    dkd_temperature: float = 1.0
    """DKD's temperature (``decouple_t``)."""
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    """The teacher and its phase (``promptmm.teacher.epochs``, ...)."""

    def __post_init__(self) -> None:
        checks = [
            (self.negatives >= 1, "promptmm.negatives must be >= 1"),
            (min(self.pair_weight, self.list_weight, self.emb_weight, self.dkd_weight,
                 self.dkd_alpha, self.dkd_beta) >= 0, "promptmm distillation weights must be >= 0"),
            (self.student_init_scale > 0, "promptmm.student_init_scale must be > 0"),
            (self.emb_gamma > 0, "promptmm.emb_gamma must be > 0"),
            (0 <= self.emb_drop_rate < 1, "promptmm.emb_drop_rate must be in [0, 1)"),
            (self.dkd_temperature > 0, "promptmm.dkd_temperature must be > 0"),
            (not (self.stage == "teacher" and self.teacher_from),
             "promptmm.teacher_from loads a teacher for a student; it does not go with stage=teacher"),
            (bool(self.teacher_from) or self.teacher.epochs >= 1,
             "promptmm.teacher.epochs must be >= 1 unless promptmm.teacher_from names a teacher"),
            (not (self.prompt_tuning == "distillation" and not self.teacher.prompt),
             "promptmm.prompt_tuning=distillation needs the prompt module (promptmm.teacher.prompt=true)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def distillation_terms(self) -> dict[str, bool]:
        """Which distillation terms are on (switch and a positive weight)."""
        return {"pair": self.pair_kd and self.pair_weight > 0,
                "list": self.list_kd and self.list_weight > 0,
                "emb": self.emb_kd and self.emb_weight > 0,
                "dkd": self.dkd_weight > 0}


def _teacher_values(**changes: Any) -> dict[str, Any]:
    values = {f.name: f.default for f in fields(TeacherConfig) if f.init}
    values.update(changes)
    return values


def tiktok_preset() -> dict[str, dict[str, Any]]:
    """The reference's TikTok block (parser.py:688-760) as a preset, every setting spelled
    out on both sides so that a change of kgrec's defaults cannot change the recipe."""
    return {
        "augmenter": {
            "stage": "distill",
            "prompt_tuning": "teacher",           # main.py:620 (no_grad teacher in KD)
            "student_init": "teacher",            # init_user_item_embed, main.py:566
            "student_init_scale": 1.0,            # two summed copies, mean of 2 layers: see README
            "teacher_dropout": True,              # teacher_model.train(), main.py:597
            "negatives": 10,                      # --neg_sample_num
            "pair_kd": True, "pair_weight": 0.01,  # --kd_loss_rate
            "list_kd": True, "list_weight": 0.01,  # --kd_loss_list_rate
            "emb_kd": True, "emb_weight": 0.1,     # --kd_loss_feat_rate
            "emb_gamma": 2.0,                     # --alpha_l
            "emb_drop_rate": 0.0,                 # --tip_rate_feat
            "dkd_weight": 0.0,                    # main.py:711 computed, main.py:738 not added
            "dkd_alpha": 100.0, "dkd_beta": 1.0, "dkd_temperature": 1.0,  # --decouple_*
            "teacher": _teacher_values(
                epochs=1000,                      # --epoch
                patience=8,                       # --early_stopping_patience
                select_k=20,                      # Ks[1]
                lr=1.1e-3,                        # --lr
                weight_decay=1e-3,                # --t_weight_decay
                batch_size=1024,                  # --batch_size
                reg=1e-5,                         # regs[0]
                feat_reg=1e-5,                    # --feat_reg_decay
                prompt_bpr_weight=1e10,           # --t_prompt_rate1
                modal_bpr_weight=1e-3,            # --t_feat_mf_rate
                layers=2,                         # len(--weight_size [64, 64])
                model_cat_rate=0.028,             # --model_cat_rate
                dropout=0.4,                      # --drop_rate
                prompt=True,
                soft_token_rate=0.1,              # --soft_token_rate
                feat_soft_token_rate=9.0,         # --feat_soft_token_rate
                prompt_dropout=0.0),              # --prompt_dropout
        },
        "recommender": {
            "dim": 32,                            # --student_embed_size (= --embed_size)
            "reg": 1e-5,                          # regs[0] in the student's bpr_loss
        },
        "lightgcn": {
            "layers": 1,                          # --student_n_layers
            "self_loops": False,                  # main.py:83: no self-loops in self.adj
            "reg_on": "input",
        },
        "train": {
            "epochs": 2000,                       # two phases of at most --epoch 1000 each
            "patience": 16,                       # --early_stopping_patience 8, plus 8: see README
            "batch_size": 1024,                   # --batch_size
            "lr": 2e-3,                           # --student_lr
            "lr_decay": 1.0,                      # constant learning rate
            "eval_every": 1,                      # every epoch is evaluated
            "select_metric": "recall@20",         # Ks[1]
        },
    }


PRESETS = {"tiktok": tiktok_preset()}
"""Per-dataset settings of the reference (its TikTok block)."""
