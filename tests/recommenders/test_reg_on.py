"""Where a backbone's L2 goes: the batch's layer-0 rows (``reg_on = "input"``) or the whole
embedding tables (``"tables"``, DiffMM's reference ``Model.reg_loss``)."""

import numpy as np
import pytest
import torch

from kgrec.interfaces import Batch
from kgrec.testing import tiny_model, tiny_setup

BATCH = Batch(torch.tensor([0, 1, 1]), torch.tensor([2, 3, 4]), torch.tensor([5, 6, 7]))


def _tables(model):
    return model.user_emb.weight.detach().numpy(), model.item_emb.weight.detach().numpy()


@pytest.mark.parametrize("name", ["lightgcn", "mf", "gcn"])
def test_tables_regularises_every_row_of_the_own_tables(name):
    model = tiny_model(name, tiny_setup(), reg=0.25, reg_on="tables")
    view = model.view()
    # what an augmenter hands the encoder (DiffMM: fused inputs) must not change the term
    fed = view.replace(users=view.users * 3.0 + 1.0, items=view.items * 3.0 + 1.0)
    reg = model.loss(model.encode(fed), BATCH, fed)["reg"]
    users, items = _tables(model)
    direct = 0.25 * (np.sum(users.astype(np.float64) ** 2) + np.sum(items.astype(np.float64) ** 2))
    assert reg.item() == pytest.approx(direct, rel=1e-5)        # no 1/2, no batch average
    assert model.table_l2().item() == pytest.approx(direct / 0.25, rel=1e-5)

    model.zero_grad()
    reg.backward()                                              # d/dE = 2 reg E on every row
    torch.testing.assert_close(model.user_emb.weight.grad, 0.5 * model.user_emb.weight.detach())
    torch.testing.assert_close(model.item_emb.weight.grad, 0.5 * model.item_emb.weight.detach())


@pytest.mark.parametrize("name", ["lightgcn", "mf"])
def test_input_is_the_default_and_regularises_the_batch_rows_of_the_inputs(name):
    model = tiny_model(name, tiny_setup(), reg=0.25)
    assert model.config.reg_on == "input"
    view = model.view()
    fed = view.replace(users=view.users * 3.0, items=view.items * 3.0)
    reg = model.loss(model.encode(fed), BATCH, fed)["reg"]
    squares = (fed.users[BATCH.users].pow(2).sum() + fed.items[BATCH.pos_items].pow(2).sum()
               + fed.items[BATCH.neg_items].pow(2).sum())
    torch.testing.assert_close(reg, 0.25 * squares / (2 * 3))


def test_no_reg_term_at_reg_zero():
    model = tiny_model("lightgcn", tiny_setup(), reg=0.0, reg_on="tables")
    assert set(model.loss(model.encode(model.view()), BATCH, model.view())) == {"bpr"}
